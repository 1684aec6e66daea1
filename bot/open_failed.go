package bot

import (
	"fmt"

	"github.com/sopbot/sopbot/bot/store"
)

// IssueOpenFailed is the end of a request's issue-opening job without an
// issue: GitHub refused it for good, or every attempt failed.
type IssueOpenFailed struct {
	RequestID int64
	Error     string
}

func (IssueOpenFailed) eventName() string { return "issue_open_failed" }

// handleIssueOpenFailed marks the request failed and tells the requester
// where the command was typed, since no issue exists to comment on.
func (e *Engine) handleIssueOpenFailed(t *txn, ev IssueOpenFailed) error {
	req, err := e.DB.GetRequest(t.ctx, t.tx, ev.RequestID)
	if err != nil || req.IssueNumber != 0 || req.Terminal() || req.State == StateFailed {
		return err
	}
	if err := e.setState(t, &req, StateFailed, "the issue could not be opened: "+ev.Error); err != nil {
		return err
	}
	if err := e.audit(t, req.ID, BotActor, "issue open failed", map[string]string{"error": ev.Error}); err != nil {
		return err
	}
	text := fmt.Sprintf("❌ sopbot could not open the GitHub issue of %s: %s\n"+
		"Check the GitHub App settings (github.appID, its private key, github.repository) and that the app is installed on the repository with issue write access, then `/mlops retry %s`, or `/mlops cancel %s`.",
		req.Label(), ev.Error, req.Label(), req.Label())
	return e.reply(t, req.Origin, text, false)
}

// retryOpen queues the issue-opening job of a request whose issue never
// opened.
func (e *Engine) retryOpen(t *txn, c CommandIssued, req store.Request) error {
	if !isRequester(req, c.Actor) {
		return &UsageError{Problem: fmt.Sprintf("Only the requester (@%s) can retry opening %s.", req.RequesterLogin, req.Label())}
	}
	if err := e.setState(t, &req, StateOpening, "retried by "+c.Actor.Mention()); err != nil {
		return err
	}
	if err := e.audit(t, req.ID, c.Actor.Login, "issue open retried", nil); err != nil {
		return err
	}
	if err := e.enqueue(t, OpenIssueArgs{RequestID: req.ID}); err != nil {
		return err
	}
	return e.reply(t, c.Origin, fmt.Sprintf("Opening the issue of %s again.", req.Label()), true)
}
