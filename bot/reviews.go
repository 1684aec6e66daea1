package bot

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// Review states as GitHub webhooks send them.
const (
	ReviewApproved         = "approved"
	ReviewChangesRequested = "changes_requested"
	ReviewCommented        = "commented"
	ReviewDismissed        = "dismissed"
)

var (
	issueMention = regexp.MustCompile(`(?:^|[\s(\[,;])#([1-9][0-9]{0,9})\b`)
	issueURL     = regexp.MustCompile(`https?://[^\s/]+/([^\s/]+/[^\s/]+)/issues/([1-9][0-9]{0,9})\b`)
)

// referencedIssue is one mention of a request issue in a pull request
// body: "#N", or an issue URL whose address is kept to compare with the
// request's own.
type referencedIssue struct {
	number int
	url    string
}

// referencedIssues returns the issues a pull request body mentions as "#N"
// or as the URL of an issue of repository (owner/name), in order of
// appearance. Only the text of paragraphs, headings and list items counts:
// code spans, code blocks, quotes and HTML are skipped, as GitHub itself
// does not link mentions there.
func referencedIssues(body, repository string) []referencedIssue {
	if sop.TooDeep(body) {
		return nil
	}
	source := []byte(body)
	doc := commentParser.Parse(text.NewReader(source))
	var texts []string
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case ast.KindBlockquote, ast.KindCodeBlock, ast.KindFencedCodeBlock, ast.KindHTMLBlock,
			ast.KindCodeSpan, ast.KindRawHTML:
			return ast.WalkSkipChildren, nil
		case ast.KindText:
			texts = append(texts, string(n.(*ast.Text).Segment.Value(source)))
		case ast.KindAutoLink:
			texts = append(texts, string(n.(*ast.AutoLink).URL(source)))
		case ast.KindLink:
			texts = append(texts, string(n.(*ast.Link).Destination))
		}
		return ast.WalkContinue, nil
	})
	plain := strings.Join(texts, " ")

	seen := map[int]bool{}
	var out []referencedIssue
	add := func(number, url string) {
		n, _ := strconv.Atoi(number)
		if !seen[n] {
			seen[n] = true
			out = append(out, referencedIssue{number: n, url: url})
		}
	}
	for _, m := range issueMention.FindAllStringSubmatch(" "+plain, -1) {
		add(m[1], "")
	}
	for _, m := range issueURL.FindAllStringSubmatch(plain, -1) {
		if strings.EqualFold(m[1], repository) {
			add(m[2], strings.TrimSuffix(m[0], "/"))
		}
	}
	return out
}

// linkedRequest finds the request a pull request belongs to: the stored
// link, or the first open request issue its body references.
func (e *Engine) linkedRequest(t *txn, pr int, body, head string) (store.Request, bool, error) {
	id, _, err := e.DB.PullRequestLink(t.ctx, t.tx, pr)
	if err == nil {
		req, err := e.DB.GetRequest(t.ctx, t.tx, id)
		return req, err == nil, err
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Request{}, false, err
	}
	for _, ref := range referencedIssues(body, e.Settings.Repository) {
		req, err := e.DB.RequestByIssue(t.ctx, t.tx, ref.number)
		if errors.Is(err, store.ErrNotFound) || (err == nil && req.Terminal()) {
			continue
		}
		if err == nil && ref.url != "" && !strings.EqualFold(ref.url, req.IssueURL) {
			continue // the URL names another host's issue with the same number
		}
		if err != nil {
			return req, false, err
		}
		if err := e.DB.LinkPullRequest(t.ctx, t.tx, pr, req.ID, head); err != nil {
			return req, false, err
		}
		if err := e.audit(t, req.ID, BotActor, "pull request linked", map[string]any{"pull_request": pr, "head": head}); err != nil {
			return req, false, err
		}
		// The link needs no comment: GitHub shows the cross-reference on
		// the issue, the status shows on the pull request, and the
		// approval section says how a review signs.
		return req, true, e.enqueue(t, StatusArgs{RequestID: req.ID})
	}
	return store.Request{}, false, nil
}

func (e *Engine) handlePullRequest(t *txn, ev PullRequestChanged) error {
	req, ok, err := e.linkedRequest(t, ev.PR, ev.Body, ev.HeadSHA)
	if err != nil || !ok || req.Terminal() {
		return err
	}
	if ev.Action != "synchronize" {
		return nil
	}
	if err := e.DB.LinkPullRequest(t.ctx, t.tx, ev.PR, req.ID, ev.HeadSHA); err != nil {
		return err
	}
	if err := e.enqueue(t, StatusArgs{RequestID: req.ID}); err != nil {
		return err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	if err := e.resetParity(t, &req, s, ev.PR, ev.HeadSHA); err != nil {
		return err
	}
	why := fmt.Sprintf("new commits pushed to #%d (head %s)", ev.PR, shortSHA(ev.HeadSHA))
	n, err := e.revoke(t, &req, s, func(so store.Signoff) bool { return so.Via == ViaReview && so.PRNumber == ev.PR }, why)
	if err != nil || n == 0 {
		return err
	}
	text := fmt.Sprintf("%d approval(s) from pull request #%d no longer count: %s. Approvers, please review the new commits.", n, ev.PR, why)
	if req.State == StateActing || req.State == StateDeploying {
		text += " The approved action had already started and is not undone."
	}
	if err := e.comment(t, req, text); err != nil {
		return err
	}
	return e.advance(t, &req, s)
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func (e *Engine) handleReview(t *txn, ev ReviewSubmitted) error {
	if ev.ReviewID != 0 {
		if err := e.DB.MarkSeen(t.ctx, t.tx, "review-"+ev.State, ev.ReviewID); err != nil {
			return err
		}
	}
	req, ok, err := e.linkedRequest(t, ev.PR, ev.PRBody, ev.HeadSHA)
	if err != nil || !ok {
		return err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	switch ev.State {
	case ReviewApproved:
		return e.reviewApproved(t, &req, ev)
	case ReviewChangesRequested:
		if reason := e.mayReject(req, s, ev.Actor); reason != "" {
			return e.audit(t, req.ID, ev.Actor.Login, "review ignored", map[string]any{"pull_request": ev.PR, "state": ev.State, "why": reason})
		}
		reason := strings.TrimSpace(ev.Body)
		if reason == "" {
			reason = fmt.Sprintf("changes requested on #%d", ev.PR)
		}
		return e.reject(t, &req, ev.Actor, reason, fmt.Sprintf("review %d on #%d", ev.ReviewID, ev.PR))
	case ReviewDismissed:
		ref := strconv.FormatInt(ev.ReviewID, 10)
		// The event's actor is the person who dismissed the review, so
		// the reviewer's login comes from the revoked sign-off.
		reviewer := ""
		matchReview := func(so store.Signoff) bool {
			if so.Via == ViaReview && so.Ref == ref {
				reviewer = so.Login
				return true
			}
			return false
		}
		n, err := e.revoke(t, &req, s, matchReview, fmt.Sprintf("review %s on #%d dismissed", ref, ev.PR))
		if err != nil || n == 0 {
			return err
		}
		if err := e.comment(t, req, fmt.Sprintf("The approving review by @%s on #%d was dismissed, so that sign-off no longer counts.", reviewer, ev.PR)); err != nil {
			return err
		}
		return e.advance(t, &req, s)
	}
	return nil // a plain "commented" review changes nothing
}

func (e *Engine) reviewApproved(t *txn, req *store.Request, ev ReviewSubmitted) error {
	s, err := e.sopOf(*req)
	if err != nil {
		return err
	}
	_, head, err := e.DB.PullRequestLink(t.ctx, t.tx, ev.PR)
	if err != nil {
		return err
	}
	reason := ""
	// The event's own head counts too: a review can arrive before the push
	// that moved the head, or the push's webhook can be lost.
	for _, current := range []string{ev.HeadSHA, head} {
		if reason == "" && current != "" && ev.CommitID != "" && ev.CommitID != current {
			reason = fmt.Sprintf("it approves commit %s, but the pull request's head is %s.", shortSHA(ev.CommitID), shortSHA(current))
		}
	}
	member := ""
	if reason == "" {
		member, reason, err = e.judgeSign(t, *req, s, ev.Actor)
		if err != nil {
			return err
		}
	}
	if reason != "" {
		members, _ := s.ApprovalMembers()
		if err := e.audit(t, req.ID, ev.Actor.Login, "review ignored", map[string]any{"pull_request": ev.PR, "state": ev.State, "why": reason}); err != nil {
			return err
		}
		if !holdsAny(ev.Actor, members) && !isRequester(*req, ev.Actor) {
			return nil // a review by someone outside the approval roles is not a sign-off attempt
		}
		return e.comment(t, *req, fmt.Sprintf("@%s, your approving review on #%d does not sign the approval: %s", ev.Actor.Login, ev.PR, reason))
	}
	so := store.Signoff{Via: ViaReview, Ref: strconv.FormatInt(ev.ReviewID, 10), PRNumber: ev.PR, CommitSHA: ev.CommitID}
	if err := e.sign(t, req, s, ev.Actor, member, so); err != nil {
		return err
	}
	return e.advance(t, req, s)
}

func (e *Engine) handleActionFinished(t *txn, ev ActionFinished) error {
	req, err := e.DB.GetRequest(t.ctx, t.tx, ev.RequestID)
	if err != nil {
		return err
	}
	if req.State != StateActing {
		return nil // a retried job already recorded it
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	if err := e.DB.SetResult(t.ctx, t.tx, req.ID, ev.Result); err != nil {
		return err
	}
	mention := "@" + req.RequesterLogin
	if req.RequesterSlack != "" {
		mention = "<@" + req.RequesterSlack + ">"
	}
	if !ev.Succeeded {
		if err := e.audit(t, req.ID, BotActor, "action failed", map[string]string{"action": s.Binding.OnApproved, "error": ev.Error}); err != nil {
			return err
		}
		if err := e.setState(t, &req, StateFailed, ev.Error); err != nil {
			return err
		}
		text := fmt.Sprintf("❌ `%s` failed: %s\nNothing further runs for this request. Fix the cause, then `/mlops cancel %s` and open a new request.", s.Binding.OnApproved, ev.Error, req.Label())
		if err := e.comment(t, req, text); err != nil {
			return err
		}
		return e.notify(t, fmt.Sprintf("%s: %s failed for %s %s: %s", mention, s.Binding.OnApproved, req.Label(), req.IssueURL, ev.Error))
	}
	if err := e.audit(t, req.ID, BotActor, "action succeeded", ev.Result); err != nil {
		return err
	}
	if err := e.comment(t, req, "✅ "+ev.Summary); err != nil {
		return err
	}
	if err := e.notify(t, fmt.Sprintf("%s: %s — %s %s", mention, s.RenderTitle(req.Params), plainSummary(ev.Summary), req.IssueURL)); err != nil {
		return err
	}
	if err := e.setState(t, &req, StateDeploying, "action succeeded"); err != nil {
		return err
	}
	return e.advance(t, &req, s)
}

func (e *Engine) notify(t *txn, text string) error {
	if e.Settings.Channel == "" {
		return nil
	}
	return e.enqueue(t, NotifyArgs{Channel: e.Settings.Channel, Text: text})
}

// plainSummary keeps the first line of a Markdown summary for Slack.
func plainSummary(summary string) string {
	first, _, _ := strings.Cut(summary, "\n")
	return strings.ReplaceAll(first, "**", "*")
}
