package bot

import (
	"fmt"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// retryCommand runs a failed or stalled action again. The action checks
// the registry before it acts, so a retry after a crash does not repeat a
// transition that already happened.
func (e *Engine) retryCommand(t *txn, c CommandIssued, cmd Command) error {
	req, err := e.findRequest(t, cmd.Ref)
	if err != nil {
		return err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	approvers, _ := s.ApprovalMembers()
	if req.IssueNumber == 0 && req.State == StateFailed {
		return e.retryOpen(t, c, req)
	}
	if len(s.Binding.Actions) > 0 {
		if !isRequester(req, c.Actor) && !holdsAny(c.Actor, approvers) && !holdsAny(c.Actor, allMembers(s)) {
			return &UsageError{Problem: fmt.Sprintf("Only the requester or a holder of a role of %s can retry %s.", s.ID, req.Label())}
		}
		return e.retryActions(t, c, req, s)
	}
	switch {
	case req.State != StateFailed && req.State != StateNeedsAttention:
		return &UsageError{Problem: fmt.Sprintf("%s is %s; only a failed or interrupted action can be retried.", req.Label(), req.State)}
	case !isRequester(req, c.Actor) && !holdsAny(c.Actor, approvers):
		return &UsageError{Problem: fmt.Sprintf("Only the requester (@%s) or an approver (%s) can retry %s.", req.RequesterLogin, strings.Join(approvers, ", "), req.Label())}
	}
	runs, err := e.DB.CountAudit(t.ctx, t.tx, req.ID, "action retried")
	if err != nil {
		return err
	}
	if err := e.setState(t, &req, StateActing, "retried by "+c.Actor.Mention()); err != nil {
		return err
	}
	if err := e.audit(t, req.ID, c.Actor.Login, "action retried", map[string]any{"run": runs + 1}); err != nil {
		return err
	}
	if err := e.enqueue(t, ActionArgs{RequestID: req.ID, Action: s.Binding.OnApproved, Run: runs + 1}); err != nil {
		return err
	}
	if err := e.comment(t, req, fmt.Sprintf("%s retried `%s`.", c.Actor.Mention(), s.Binding.OnApproved)); err != nil {
		return err
	}
	return e.reply(t, c.Origin, fmt.Sprintf("Retrying `%s` for %s.", s.Binding.OnApproved, req.Label()), true)
}

func (e *Engine) handleActionStalled(t *txn, ev ActionStalled) error {
	req, err := e.DB.GetRequest(t.ctx, t.tx, ev.RequestID)
	if err != nil || req.State != StateActing {
		return err
	}
	action := e.actionName(req)
	if err := e.setState(t, &req, StateNeedsAttention, "the action stopped without a result"); err != nil {
		return err
	}
	text := fmt.Sprintf("⚠️ `%s` started but reported no result within the heartbeat timeout; the process may have stopped while it ran. "+
		"Check the target, then run `/mlops retry %s`: the action reads the current state first, so work already done is not repeated.", action, req.Label())
	if err := e.comment(t, req, text); err != nil {
		return err
	}
	return e.notify(t, fmt.Sprintf("%s needs attention: `%s` stopped without a result. %s", req.Label(), action, req.IssueURL))
}

// handleBodyDrift puts back boxes that changed on GitHub without a webhook
// the bot received. It cannot tell who changed them, so it records nothing
// for anyone and asks for the change to be made again.
func (e *Engine) handleBodyDrift(t *txn, ev BodyDrift) error {
	req, err := e.DB.GetRequest(t.ctx, t.tx, ev.RequestID)
	if err != nil || req.Terminal() || len(ev.Keys) == 0 {
		return err
	}
	if err := e.audit(t, req.ID, BotActor, "unrecorded edit reverted", map[string]any{"items": ev.Keys}); err != nil {
		return err
	}
	if err := e.enqueue(t, SyncItemsArgs{RequestID: req.ID, Keys: ev.Keys}); err != nil {
		return err
	}
	text := fmt.Sprintf("sopbot found %s changed on this issue without a webhook it received (%s), so it cannot say who changed them. "+
		"They were set back to the recorded state; please tick them again so the change is recorded.", pluralBoxes(len(ev.Keys)), "`"+strings.Join(ev.Keys, "`, `")+"`")
	return e.comment(t, req, text)
}

func pluralBoxes(n int) string {
	if n == 1 {
		return "a box"
	}
	return fmt.Sprintf("%d boxes", n)
}

// signOffState returns the commit status a request's linked pull requests
// carry: pending until every gate is complete, success once approved,
// failure when rejected, error when cancelled.
func signOffState(req store.Request) (state, description string) {
	switch req.State {
	case StateActing, StateDeploying, StateDone, StateFailed, StateNeedsAttention:
		return "success", fmt.Sprintf("%s approved", req.Label())
	case StateRejected:
		return "failure", fmt.Sprintf("%s rejected: %s", req.Label(), req.Reason)
	case StateCancelled:
		return "error", fmt.Sprintf("%s cancelled", req.Label())
	case StateOpening, StateQueued, StateAwaitingReview, StateAwaitingApproval:
		// One text for every state before the approval, so the status is
		// not sent again when only the review stage changes.
		return "pending", fmt.Sprintf("%s is not signed off yet", req.Label())
	}
	return "pending", fmt.Sprintf("%s is %s", req.Label(), req.State)
}

// allMembers lists every member of every role of s.
func allMembers(s *sop.SOP) []string {
	var out []string
	for _, r := range s.Roles {
		out = append(out, r.Members...)
	}
	return out
}
