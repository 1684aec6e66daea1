package githubfake

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

// payloadFS holds real webhook deliveries used as templates. SOURCES.md in
// the same folder names the origin and licence of each file.
//
//go:embed payloads/*.json
var payloadFS embed.FS

// Template files, by the event and action they are the model for. Events
// without a file of their own reuse the closest one: issues.closed and
// issues.reopened use the edited delivery without "changes", and
// pull_request.edited and .closed use the opened one.
const (
	templateIssueOpened     = "payloads/issues.opened.json"
	templateIssueEdited     = "payloads/issues.edited.task-list-tick.json"
	templateComment         = "payloads/issue_comment.created.json"
	templatePullOpened      = "payloads/pull_request.opened.json"
	templatePullSynchronize = "payloads/pull_request.synchronize.json"
	templateReviewApproved  = "payloads/pull_request_review.submitted.approved.with-node-id.json"
	templateReviewChanges   = "payloads/pull_request_review.submitted.changes_requested.json"
	templateReviewCommented = "payloads/pull_request_review.submitted.commented.json"
	templateReviewDismissed = "payloads/pull_request_review.dismissed.json"
	templateCheckRun        = "payloads/check_run.completed.json"
)

// payload is a decoded webhook body.
type payload map[string]any

// loadTemplate decodes a template, keeping numbers as json.Number so that
// ids are written back exactly.
func loadTemplate(name string) (payload, error) {
	data, err := payloadFS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading payload template %s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var p payload
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decoding payload template %s: %w", name, err)
	}
	return p, nil
}

// object returns the nested object at key, creating it when missing.
func (p payload) object(key string) map[string]any {
	if m, ok := p[key].(map[string]any); ok {
		return m
	}
	m := map[string]any{}
	p[key] = m
	return m
}

// merge overwrites dst's keys with src's, keeping dst's other keys.
func merge(dst, src map[string]any) {
	for key, value := range src {
		dst[key] = value
	}
}

// newPayloadLocked loads a template and sets action, repository,
// organization, installation and sender.
func (f *Fake) newPayloadLocked(template, action string, sender actor) (payload, error) {
	p, err := loadTemplate(template)
	if err != nil {
		return nil, err
	}

	p.rewriteStrings(f.templateReplacer(p))
	p["action"] = action
	merge(p.object("repository"), f.repositoryJSON())
	if org, ok := p["organization"].(map[string]any); ok {
		merge(org, map[string]any{
			"login": f.opts.Owner,
			"id":    userID(f.opts.Owner),
			"url":   f.URL() + "orgs/" + f.opts.Owner,
		})
	}
	p["installation"] = map[string]any{
		"id":      f.opts.InstallationID,
		"node_id": nodeID("Installation", f.opts.InstallationID),
	}
	p["sender"] = f.actorJSON(sender)
	return p, nil
}

// templateReplacer maps the template's repository name and GitHub's hosts
// to the fake's, so that URL fields the fake does not set still name the
// fake's repository. Ids and numbers inside such URLs keep their template
// values.
func (f *Fake) templateReplacer(p payload) *strings.Replacer {
	oldName, _ := p.object("repository")["full_name"].(string)
	pairs := []string{"https://api.github.com/", f.URL(), "https://github.com/", webHost}
	if oldName != "" {
		pairs = append(pairs, oldName, f.repoPath())
	}
	return strings.NewReplacer(pairs...)
}

// rewriteStrings applies r to every string value in p.
func (p payload) rewriteStrings(r *strings.Replacer) {
	rewriteValue(map[string]any(p), r)
}

func rewriteValue(v any, r *strings.Replacer) any {
	switch value := v.(type) {
	case string:
		return r.Replace(value)
	case map[string]any:
		for key, item := range value {
			value[key] = rewriteValue(item, r)
		}
	case []any:
		for i, item := range value {
			value[i] = rewriteValue(item, r)
		}
	}
	return v
}

// setChanges sets or removes the "changes" object of an edited event.
func (p payload) setChanges(changes map[string]any) {
	if changes == nil {
		delete(p, "changes")
		return
	}
	p["changes"] = changes
}

// queueIssueEventLocked queues an issues delivery for is.
func (f *Fake) queueIssueEventLocked(action string, is *issue, sender actor, changes map[string]any) {
	template := templateIssueEdited
	if action == "opened" {
		template = templateIssueOpened
	}
	f.queuePayloadLocked("issues", template, action, sender, func(p payload) {
		merge(p.object("issue"), f.issueJSON(is))
		p.setChanges(changes)
	})
}

// queueCommentEventLocked queues an issue_comment delivery for c on is.
func (f *Fake) queueCommentEventLocked(action string, is *issue, c *comment, sender actor, changes map[string]any) {
	f.queuePayloadLocked("issue_comment", templateComment, action, sender, func(p payload) {
		issueObject := p.object("issue")
		delete(issueObject, "pull_request")
		merge(issueObject, f.issueJSON(is))
		merge(p.object("comment"), f.commentJSON(c))
		p.setChanges(changes)
	})
}

// queuePullRequestEventLocked queues a pull_request delivery for is. extra
// sets top-level keys such as "changes", "before" and "after".
func (f *Fake) queuePullRequestEventLocked(action string, is *issue, sender actor, extra map[string]any) {
	template := templatePullOpened
	if action == "synchronize" {
		template = templatePullSynchronize
	}
	f.queuePayloadLocked("pull_request", template, action, sender, func(p payload) {
		delete(p, "changes")
		delete(p, "before")
		delete(p, "after")
		p["number"] = is.number
		merge(p.object("pull_request"), f.pullRequestJSON(is))
		merge(p, extra)
	})
}

// queueReviewEventLocked queues a pull_request_review delivery for rv.
func (f *Fake) queueReviewEventLocked(action string, is *issue, rv *review, sender actor) {
	template := reviewTemplate(action, rv.state)
	f.queuePayloadLocked("pull_request_review", template, action, sender, func(p payload) {
		merge(p.object("pull_request"), f.pullRequestJSON(is))
		merge(p.object("review"), f.reviewJSON(is, rv))
	})
}

func reviewTemplate(action, state string) string {
	if action == "dismissed" {
		return templateReviewDismissed
	}
	switch state {
	case reviewApproved:
		return templateReviewApproved
	case reviewChangesRequested:
		return templateReviewChanges
	default:
		return templateReviewCommented
	}
}

// queuePayloadLocked builds a payload from template, lets fill replace the
// event's own objects, and queues it. The templates are embedded and every test
// decodes them, so an error here is a bug in the fake and panics.
func (f *Fake) queuePayloadLocked(event, template, action string, sender actor, fill func(payload)) {
	p, err := f.newPayloadLocked(template, action, sender)
	if err != nil {
		panic(fmt.Sprintf("githubfake: %v", err))
	}
	fill(p)

	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		panic(fmt.Sprintf("githubfake: encoding %s.%s payload: %v", event, action, err))
	}
	f.enqueueLocked(event, action, bytes.TrimSuffix(body.Bytes(), []byte("\n")))
}
