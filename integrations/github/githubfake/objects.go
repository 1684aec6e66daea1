package githubfake

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"time"
)

// webHost is the host of html_url values. It is a reserved .example domain,
// so such links never resolve.
const webHost = "https://github.example/"

// ID offsets keep the ids of issues, pull requests and the repository apart
// from issue numbers and from each other.
const (
	issueIDBase = 500000000
	pullIDBase  = 600000000
	repoID      = 700000001
)

func timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// userID derives a stable id from a login, so the same user keeps one id.
func userID(login string) int64 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	return int64(h.Sum32()%90000000) + 10000000
}

// nodeID returns a GraphQL-style global id for a kind and id.
func nodeID(kind string, id int64) string {
	return base64.RawStdEncoding.EncodeToString(fmt.Appendf(nil, "%s%d", kind, id))
}

// fakeSHA returns a deterministic 40-character commit SHA for seed.
func fakeSHA(seed string) string {
	sum := sha1.Sum([]byte(seed))
	return hex.EncodeToString(sum[:])
}

func (f *Fake) repoPath() string { return f.opts.Owner + "/" + f.opts.Repo }

func (f *Fake) apiRepoURL() string { return f.URL() + "repos/" + f.repoPath() }

func (f *Fake) webRepoURL() string { return webHost + f.repoPath() }

// userJSON returns a GitHub user object.
func (f *Fake) userJSON(login, userType string) map[string]any {
	id := userID(login)
	return map[string]any{
		"login":       login,
		"id":          id,
		"node_id":     nodeID("User", id),
		"avatar_url":  webHost + "avatars/" + url.PathEscape(login),
		"gravatar_id": "",
		"url":         f.URL() + "users/" + url.PathEscape(login),
		"html_url":    webHost + url.PathEscape(login),
		"type":        userType,
		"site_admin":  false,
	}
}

func (f *Fake) actorJSON(a actor) map[string]any { return f.userJSON(a.login, a.userType) }

// labelJSON returns a label object.
func (f *Fake) labelJSON(name string) map[string]any {
	id := userID("label:" + name)
	return map[string]any{
		"id":          id,
		"node_id":     nodeID("Label", id),
		"url":         f.apiRepoURL() + "/labels/" + url.PathEscape(name),
		"name":        name,
		"color":       "ededed",
		"default":     false,
		"description": nil,
	}
}

// repositoryJSON returns the fields of a repository object that name it.
func (f *Fake) repositoryJSON() map[string]any {
	return map[string]any{
		"id":        repoID,
		"node_id":   nodeID("Repository", repoID),
		"name":      f.opts.Repo,
		"full_name": f.repoPath(),
		"private":   false,
		"owner":     f.userJSON(f.opts.Owner, "Organization"),
		"html_url":  f.webRepoURL(),
		"url":       f.apiRepoURL(),
	}
}

// issueJSON returns an issue object as the REST API and webhooks send it.
// It reads the comment count, so callers hold f.mu.
func (f *Fake) issueJSON(is *issue) map[string]any {
	apiURL := fmt.Sprintf("%s/issues/%d", f.apiRepoURL(), is.number)
	labels := make([]any, 0, len(is.labels))
	for _, name := range is.labels {
		labels = append(labels, f.labelJSON(name))
	}

	object := map[string]any{
		"url":                apiURL,
		"repository_url":     f.apiRepoURL(),
		"labels_url":         apiURL + "/labels{/name}",
		"comments_url":       apiURL + "/comments",
		"events_url":         apiURL + "/events",
		"timeline_url":       apiURL + "/timeline",
		"html_url":           fmt.Sprintf("%s/issues/%d", f.webRepoURL(), is.number),
		"id":                 issueIDBase + is.number,
		"node_id":            nodeID("Issue", int64(issueIDBase+is.number)),
		"number":             is.number,
		"title":              is.title,
		"user":               f.actorJSON(is.user),
		"labels":             labels,
		"state":              is.state,
		"state_reason":       nilIfEmpty(is.stateReason),
		"locked":             false,
		"assignee":           nil,
		"assignees":          []any{},
		"milestone":          nil,
		"comments":           len(f.commentsLocked(is.number)),
		"created_at":         timestamp(is.created),
		"updated_at":         timestamp(is.updated),
		"closed_at":          timestamp(is.closed),
		"author_association": f.association(is.user),
		"active_lock_reason": nil,
		"body":               is.body,
	}
	if is.pull != nil {
		object["html_url"] = f.pullHTMLURL(is.number)
		object["pull_request"] = map[string]any{
			"url":       fmt.Sprintf("%s/pulls/%d", f.apiRepoURL(), is.number),
			"html_url":  f.pullHTMLURL(is.number),
			"diff_url":  f.pullHTMLURL(is.number) + ".diff",
			"patch_url": f.pullHTMLURL(is.number) + ".patch",
		}
	}
	return object
}

func (f *Fake) pullHTMLURL(number int) string {
	return fmt.Sprintf("%s/pull/%d", f.webRepoURL(), number)
}

// association returns author_association: the bot is NONE, anyone else a
// MEMBER. The fake does not model collaborators.
func (f *Fake) association(a actor) string {
	if a.userType == userTypeBot {
		return "NONE"
	}
	return "MEMBER"
}

// commentJSON returns an issue comment object. Callers hold f.mu.
func (f *Fake) commentJSON(c *comment) map[string]any {
	htmlURL := fmt.Sprintf("%s/issues/%d#issuecomment-%d", f.webRepoURL(), c.issue, c.id)
	if is := f.issues[c.issue]; is != nil && is.pull != nil {
		htmlURL = fmt.Sprintf("%s#issuecomment-%d", f.pullHTMLURL(c.issue), c.id)
	}
	return map[string]any{
		"url":                fmt.Sprintf("%s/issues/comments/%d", f.apiRepoURL(), c.id),
		"html_url":           htmlURL,
		"issue_url":          fmt.Sprintf("%s/issues/%d", f.apiRepoURL(), c.issue),
		"id":                 c.id,
		"node_id":            nodeID("IssueComment", c.id),
		"user":               f.actorJSON(c.user),
		"created_at":         timestamp(c.created),
		"updated_at":         timestamp(c.updated),
		"author_association": f.association(c.user),
		"body":               c.body,
	}
}

// pullRequestJSON returns the pull request fields the fake tracks.
func (f *Fake) pullRequestJSON(is *issue) map[string]any {
	apiURL := fmt.Sprintf("%s/pulls/%d", f.apiRepoURL(), is.number)
	issueURL := fmt.Sprintf("%s/issues/%d", f.apiRepoURL(), is.number)
	htmlURL := f.pullHTMLURL(is.number)
	issueObject := f.issueJSON(is)
	owner := f.userJSON(f.opts.Owner, "Organization")

	object := map[string]any{
		"url":                 apiURL,
		"id":                  pullIDBase + is.number,
		"node_id":             nodeID("PullRequest", int64(pullIDBase+is.number)),
		"html_url":            htmlURL,
		"diff_url":            htmlURL + ".diff",
		"patch_url":           htmlURL + ".patch",
		"issue_url":           issueURL,
		"commits_url":         apiURL + "/commits",
		"review_comments_url": apiURL + "/comments",
		"comments_url":        issueURL + "/comments",
		"statuses_url":        f.apiRepoURL() + "/statuses/" + is.pull.headSHA,
		"number":              is.number,
		"state":               is.state,
		"locked":              false,
		"title":               is.title,
		"user":                f.actorJSON(is.user),
		"body":                is.body,
		"labels":              issueObject["labels"],
		"created_at":          timestamp(is.created),
		"updated_at":          timestamp(is.updated),
		"closed_at":           timestamp(is.closed),
		"merged_at":           nil,
		"merged":              is.pull.merged,
		"merged_by":           nil,
		"draft":               false,
		"author_association":  f.association(is.user),
		"head": map[string]any{
			"label": f.opts.Owner + ":" + is.pull.headRef,
			"ref":   is.pull.headRef,
			"sha":   is.pull.headSHA,
			"user":  owner,
			"repo":  f.repositoryJSON(),
		},
		"base": map[string]any{
			"label": f.opts.Owner + ":main",
			"ref":   "main",
			"sha":   f.baseSHA(),
			"user":  owner,
			"repo":  f.repositoryJSON(),
		},
		"_links": map[string]any{
			"self":     map[string]any{"href": apiURL},
			"html":     map[string]any{"href": htmlURL},
			"issue":    map[string]any{"href": issueURL},
			"comments": map[string]any{"href": issueURL + "/comments"},
			"commits":  map[string]any{"href": apiURL + "/commits"},
			"statuses": map[string]any{"href": f.apiRepoURL() + "/statuses/" + is.pull.headSHA},
		},
	}
	if is.pull.merged {
		object["merged_at"] = timestamp(is.closed)
		object["merged_by"] = f.actorJSON(is.pull.mergedBy)
	}
	return object
}

// reviewJSON returns a pull request review object with the state in
// lowercase, as webhook payloads carry it.
func (f *Fake) reviewJSON(is *issue, rv *review) map[string]any {
	htmlURL := fmt.Sprintf("%s#pullrequestreview-%d", f.pullHTMLURL(is.number), rv.id)
	pullURL := fmt.Sprintf("%s/pulls/%d", f.apiRepoURL(), is.number)
	return map[string]any{
		"id":                 rv.id,
		"node_id":            nodeID("PullRequestReview", rv.id),
		"user":               f.actorJSON(rv.user),
		"body":               nilIfEmpty(rv.body),
		"commit_id":          rv.commitID,
		"submitted_at":       timestamp(rv.submitted),
		"state":              rv.state,
		"html_url":           htmlURL,
		"pull_request_url":   pullURL,
		"author_association": f.association(rv.user),
		"_links": map[string]any{
			"html":         map[string]any{"href": htmlURL},
			"pull_request": map[string]any{"href": pullURL},
		},
	}
}

// installationJSON returns the installation object of
// GET /repos/{owner}/{repo}/installation.
func (f *Fake) installationJSON() map[string]any {
	id := f.opts.InstallationID
	created := timestamp(f.now().Add(-24 * time.Hour))
	return map[string]any{
		"id":                   id,
		"account":              f.userJSON(f.opts.Owner, "Organization"),
		"repository_selection": "selected",
		"access_tokens_url":    fmt.Sprintf("%sapp/installations/%d/access_tokens", f.URL(), id),
		"repositories_url":     f.URL() + "installation/repositories",
		"html_url":             fmt.Sprintf("%sorganizations/%s/settings/installations/%d", webHost, f.opts.Owner, id),
		"app_id":               f.opts.AppID,
		"target_id":            userID(f.opts.Owner),
		"target_type":          "Organization",
		"permissions":          installationPermissions(),
		"events":               []string{"issues", "issue_comment", "pull_request", "pull_request_review"},
		"created_at":           created,
		"updated_at":           created,
		"single_file_name":     nil,
	}
}

// installationPermissions returns the permissions the fake grants every
// installation token.
func installationPermissions() map[string]string {
	return map[string]string{
		"issues":        "write",
		"metadata":      "read",
		"members":       "read",
		"pull_requests": "read",
		"statuses":      "write",
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
