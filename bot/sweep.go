package bot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/sop"
)

// StatusContext is the commit status a linked pull request carries, so a
// branch protection rule can require the request's sign-off.
const StatusContext = "sopbot/sign-off"

// Sweep timing: how often it runs, how long an action may run without a
// result, and how old a comment must be before the sweep treats its
// missing webhook as lost.
const (
	SweepInterval    = 3 * time.Minute
	HeartbeatTimeout = 10 * time.Minute
	commentGrace     = time.Minute
)

func (w *Workers) setStatus(ctx context.Context, job *river.Job[StatusArgs]) error {
	attrs := []any{"request_id", job.Args.RequestID}
	var req store.Request
	var prs []store.LinkedPullRequest
	err := w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if req, err = w.Engine.DB.GetRequest(ctx, tx, job.Args.RequestID); err != nil {
			return err
		}
		prs, err = w.Engine.DB.LinkedPullRequests(ctx, tx, req.ID)
		return err
	})
	if err != nil || len(prs) == 0 {
		return w.outcome(job.Kind, attrs, err)
	}
	inst, err := w.installationFor(ctx, req)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	state, description := signOffState(req)
	w.statuses.mu.Lock()
	defer w.statuses.mu.Unlock()
	for _, pr := range prs {
		if pr.Head == "" {
			continue
		}
		set := commitStatus{state: state, description: description, targetURL: req.IssueURL}
		if w.statuses.last[pr.Head] == set {
			continue // the commit already carries this status
		}
		if err := w.GitHub.SetCommitStatus(ctx, inst, pr.Head, state, StatusContext, description, req.IssueURL); err != nil {
			return w.outcome(job.Kind, append(attrs, "pull_request", pr.Number), err)
		}
		w.statuses.remember(pr.Head, set)
	}
	return nil
}

// commitStatus is the StatusContext status the bot set on one commit.
type commitStatus struct {
	state, description, targetURL string
}

// statusCache holds the StatusContext status the bot last set on each
// commit, so an equal one is not sent again. It is kept in memory, so
// after a restart the first status of each commit is sent again. mu is
// held while a status is sent, so two jobs cannot both send it.
type statusCache struct {
	mu   sync.Mutex
	last map[string]commitStatus // commit SHA → status
}

func (c *statusCache) remember(sha string, set commitStatus) {
	if c.last == nil {
		c.last = map[string]commitStatus{}
	}
	c.last[sha] = set
}

// sweep compares every open request with GitHub and applies what a lost
// webhook missed: a closed issue, a push, reviews, commands in comments,
// boxes changed without a delivery, and actions that stopped. A request
// with deliveries still waiting is skipped until they are processed.
func (w *Workers) sweep(ctx context.Context, _ *river.Job[SweepArgs]) error {
	return w.Sweep(ctx)
}

// Sweep runs the reconciliation sweep once, now.
func (w *Workers) Sweep(ctx context.Context) error {
	requests, err := w.Engine.DB.ActiveRequests(ctx)
	if err != nil {
		return err
	}
	for _, req := range requests {
		if req.IssueNumber == 0 {
			continue
		}
		if err := w.sweepRequest(ctx, req); err != nil {
			// One request's failure must not stop the sweep of the others.
			w.Log.Warn("sweep of request failed", "request_id", req.ID, "sop", req.SOPID, "issue", req.IssueNumber, "error", err)
		}
	}
	if err := w.sweepStaleActions(ctx); err != nil {
		w.Log.Warn("sweep of infra actions failed", "error", err)
	}
	return w.closeOrphans(ctx)
}

func (w *Workers) sweepRequest(ctx context.Context, req store.Request) error {
	if pending, err := w.Engine.DB.PendingForSubject(ctx, subjectOf(req.IssueNumber)); err != nil || pending {
		return err
	}
	inst, err := w.installationFor(ctx, req)
	if err != nil {
		return err
	}
	issue, err := w.readIssue(ctx, inst, req)
	if err != nil {
		return err
	}
	if issue.State == "closed" {
		return w.apply(ctx, IssueClosed{DeliveryID: sweepID("closed", req.IssueNumber), Issue: req.IssueNumber})
	}
	if err := w.sweepBody(ctx, req, issue.Body); err != nil {
		return err
	}
	if err := w.sweepComments(ctx, req, inst); err != nil {
		return err
	}
	if err := w.sweepPullRequests(ctx, req, inst); err != nil {
		return err
	}
	return w.sweepHeartbeat(ctx, req)
}

// readIssue reads a request's issue and makes what it read the bot's view
// of it, unless the view holds an overwritten edit still to write back.
func (w *Workers) readIssue(ctx context.Context, inst int64, req store.Request) (github.Issue, error) {
	defer w.lockIssue(req.IssueNumber)()
	issue, err := w.GitHub.GetIssue(ctx, inst, req.IssueNumber)
	if err != nil {
		return issue, err
	}
	view, known := w.views.get(req.IssueNumber)
	if known && view.stale {
		return issue, nil
	}
	next := viewOf(issue, Labels(req))
	// A body other than the known one may show edits the store lacks (see
	// issueView.foreign). sweepBody clears the mark when no box differs
	// from the store.
	next.foreign = !known || view.foreign || issue.Body != view.body
	if known {
		next.seen, next.wrote, next.last = view.seen, view.wrote, view.last
		next.remember(issue.Body)
		if view.labels != nil {
			next.labels = view.labels
		}
	}
	w.views.put(req.IssueNumber, next)
	return issue, nil
}

func (w *Workers) commentGrace() time.Duration {
	if w.CommentGrace > 0 {
		return w.CommentGrace
	}
	return commentGrace
}

func subjectOf(number int) string { return fmt.Sprintf("issue:%d", number) }

func sweepID(kind string, parts ...any) string {
	id := "sweep:" + kind
	for _, p := range parts {
		id += ":" + fmt.Sprint(p)
	}
	return id
}

func (w *Workers) sweepBody(ctx context.Context, req store.Request, body string) error {
	// The bot's own pending writes would look like drift until they run.
	for _, kind := range []string{SyncItemsArgs{}.Kind(), SyncParamsArgs{}.Kind()} {
		if pending, err := w.Engine.DB.LiveJob(ctx, kind, req.ID, time.Time{}); err != nil || pending {
			return err
		}
	}
	_, _, items, err := w.loadRequest(ctx, req.ID)
	if err != nil {
		return err
	}
	var drift []string
	for key, entry := range sop.ReadChecklist(body) {
		if stored, ok := items[key]; ok && stored.Checked != entry.Checked {
			drift = append(drift, key)
		}
	}
	if len(drift) == 0 {
		w.trustView(req.IssueNumber, body)
		return nil
	}
	sort.Strings(drift)
	return w.apply(ctx, BodyDrift{RequestID: req.ID, Keys: drift})
}

func (w *Workers) sweepComments(ctx context.Context, req store.Request, inst int64) error {
	comments, err := w.GitHub.ListComments(ctx, inst, req.IssueNumber, req.CreatedAt)
	if err != nil {
		return err
	}
	for _, c := range comments {
		line, ok := ExtractCommand(c.Body)
		if !ok || strings.HasSuffix(c.User, "[bot]") || time.Since(c.CreatedAt) < w.commentGrace() {
			continue
		}
		if seen, err := w.Engine.DB.Seen(ctx, "comment", c.ID); err != nil || seen {
			if err != nil {
				return err
			}
			continue
		}
		actor := w.Engine.Directory.Resolve(ctx, inst, c.User)
		ev := CommandIssued{
			DeliveryID: sweepID("comment", c.ID), Actor: actor, Line: line, CommentID: c.ID, InstallationID: inst,
			Origin: store.Origin{Source: "github", Issue: req.IssueNumber, InstallationID: inst},
		}
		w.Log.Info("sweep found a command without a delivery", "request_id", req.ID, "sop", req.SOPID, "issue", req.IssueNumber, "comment_id", c.ID)
		if err := w.apply(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

func (w *Workers) sweepPullRequests(ctx context.Context, req store.Request, inst int64) error {
	var prs []store.LinkedPullRequest
	err := w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		prs, err = w.Engine.DB.LinkedPullRequests(ctx, tx, req.ID)
		return err
	})
	if err != nil {
		return err
	}
	for _, linked := range prs {
		if pending, err := w.Engine.DB.PendingForSubject(ctx, subjectOf(linked.Number)); err != nil || pending {
			if err != nil {
				return err
			}
			continue
		}
		if err := w.sweepPullRequest(ctx, inst, linked); err != nil {
			return err
		}
	}
	return nil
}

func (w *Workers) sweepPullRequest(ctx context.Context, inst int64, linked store.LinkedPullRequest) error {
	pr, err := w.GitHub.GetPullRequest(ctx, inst, linked.Number)
	if err != nil {
		return err
	}
	if pr.HeadSHA != "" && pr.HeadSHA != linked.Head {
		ev := PullRequestChanged{DeliveryID: sweepID("push", pr.Number, pr.HeadSHA), PR: pr.Number, Body: pr.Body, HeadSHA: pr.HeadSHA, Action: "synchronize"}
		if err := w.apply(ctx, ev); err != nil {
			return err
		}
	}
	reviews, err := w.GitHub.ListReviews(ctx, inst, pr.Number)
	if err != nil {
		return err
	}
	for _, r := range reviews {
		if err := w.sweepReview(ctx, inst, pr, r); err != nil {
			return err
		}
	}
	return nil
}

// sweepReview replays a review whose event the bot never processed. A
// review listed as dismissed may once have been an approval the bot saw,
// so its dismissal is replayed when the approval was seen.
func (w *Workers) sweepReview(ctx context.Context, inst int64, pr github.PullRequest, r github.Review) error {
	state := r.State
	switch state {
	case ReviewApproved, ReviewChangesRequested:
	case ReviewDismissed:
		approved, err := w.Engine.DB.Seen(ctx, "review-"+ReviewApproved, r.ID)
		if err != nil || !approved {
			return err
		}
	default:
		return nil
	}
	if seen, err := w.Engine.DB.Seen(ctx, "review-"+state, r.ID); err != nil || seen {
		return err
	}
	ev := ReviewSubmitted{
		DeliveryID: sweepID("review", r.ID, state), Actor: w.Engine.Directory.Resolve(ctx, inst, r.User),
		PR: pr.Number, PRBody: pr.Body, PRAuthor: pr.User, HeadSHA: pr.HeadSHA, ReviewID: r.ID,
		State: state, Body: r.Body, CommitID: r.CommitID,
	}
	w.Log.Info("sweep found a review without a delivery", "pull_request", pr.Number, "review_id", strconv.FormatInt(r.ID, 10), "state", state)
	return w.apply(ctx, ev)
}

func (w *Workers) sweepHeartbeat(ctx context.Context, req store.Request) error {
	if req.State != StateActing || time.Since(req.UpdatedAt) < HeartbeatTimeout {
		return nil
	}
	live, err := w.Engine.DB.LiveJob(ctx, ActionArgs{}.Kind(), req.ID, time.Now().Add(-HeartbeatTimeout))
	if err != nil || live {
		return err
	}
	w.Log.Warn("action stalled", "request_id", req.ID, "sop", req.SOPID, "issue", req.IssueNumber)
	return w.apply(ctx, ActionStalled{RequestID: req.ID})
}

// closeOrphans closes open request issues whose request has ended, as when
// the bot's own close failed for good.
func (w *Workers) closeOrphans(ctx context.Context) error {
	inst, err := w.installationFor(ctx, store.Request{})
	if err != nil {
		return err
	}
	issues, err := w.GitHub.ListOpenIssues(ctx, inst, "sopbot")
	if err != nil {
		return err
	}
	for _, issue := range issues {
		var req store.Request
		err := w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			req, err = w.Engine.DB.RequestByIssue(ctx, tx, issue.Number)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if req.Terminal() {
			w.Log.Info("sweep closes the issue of an ended request", "request_id", req.ID, "sop", req.SOPID, "issue", issue.Number, "state", req.State)
			if err := w.GitHub.CloseIssue(ctx, inst, issue.Number); err != nil {
				return err
			}
		}
	}
	return nil
}
