package bot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// requestRevision hashes what a sign-off approves: the parameters and the
// outcome and evidence of every check the bot runs for the request.
func requestRevision(req store.Request, s *sop.SOP, items map[string]store.Item) string {
	sum := sha256.New()
	for _, name := range sortedKeys(req.Params) {
		fmt.Fprintf(sum, "param %d:%s=%d:%s;", len(name), name, len(req.Params[name]), req.Params[name])
	}
	for _, key := range sortedKeys(s.Binding.Checks) {
		item := items[key]
		fmt.Fprintf(sum, "check %s=%s:%d:%s;", key, item.CheckState, len(item.Evidence), item.Evidence)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// auditRevisionChanged is the audit action that records each new revision
// with the one before it and why it changed, which changesSince reads.
const auditRevisionChanged = "revision changed"

// refreshRevision recomputes the request's revision. When it changed
// before the action ran, every sign-off given on an earlier revision is
// voided and the issue says why. While the request awaits approval, the
// Slack gate message is redrawn, so its buttons carry the new revision.
func (e *Engine) refreshRevision(t *txn, req *store.Request, s *sop.SOP, why string) error {
	items, err := e.DB.Items(t.ctx, t.tx, req.ID)
	if err != nil {
		return err
	}
	revision := requestRevision(*req, s, items)
	if revision == req.Revision {
		return nil
	}
	if err := e.DB.SetRevision(t.ctx, t.tx, req.ID, revision); err != nil {
		return err
	}
	previous := req.Revision
	req.Revision = revision
	if err := e.audit(t, req.ID, BotActor, auditRevisionChanged, map[string]string{"from": previous, "to": revision, "why": why}); err != nil {
		return err
	}
	switch req.State {
	case StateAwaitingApproval:
		if err := e.enqueue(t, GateMessageArgs{RequestID: req.ID}); err != nil {
			return err
		}
	case StateOpening, StateQueued, StateAwaitingReview:
	default:
		return nil // the approved action ran or is running; the record keeps the old revision
	}
	n, err := e.revoke(t, req, s, func(so store.Signoff) bool { return so.Revision != revision }, "request changed: "+why)
	if err != nil || n == 0 {
		return err
	}
	return e.comment(t, *req, fmt.Sprintf("The request changed (%s), so %d approval(s) given before no longer count. Approvers, please review it again.", why, n))
}

// changesSince describes how the request changed after the revision an
// approver was shown, given as seen or a prefix of it. An example is
// "deployment mlflow-server → payments-api by @hank". It returns "" when
// seen is the current revision, and the current parameters when the audit
// trail has no change away from seen.
func (e *Engine) changesSince(t *txn, req store.Request, seen string) (string, error) {
	if seen != "" && strings.HasPrefix(req.Revision, seen) {
		return "", nil
	}
	entries, err := e.DB.AuditByAction(t.ctx, t.tx, req.ID, auditRevisionChanged)
	if err != nil {
		return "", err
	}
	type change struct{ From, To, Why string }
	changes := make([]change, len(entries))
	last := -1 // the newest change away from seen
	for i, entry := range entries {
		if err := json.Unmarshal([]byte(entry.Detail), &changes[i]); err != nil {
			return "", fmt.Errorf("decoding audit entry %d of request %d: %w", entry.ID, req.ID, err)
		}
		if seen != "" && strings.HasPrefix(changes[i].From, seen) {
			last = i
		}
	}
	if last < 0 {
		return "its parameters are now " + paramList(req.Params), nil
	}
	var whys []string
	for _, c := range changes[last:] {
		whys = append(whys, c.Why)
	}
	return strings.Join(whys, "; "), nil
}

// paramList formats parameters as "name value" pairs in name order, such
// as "deployment payments-api, namespace mlops".
func paramList(params map[string]string) string {
	var parts []string
	for _, name := range sortedKeys(params) {
		parts = append(parts, name+" "+params[name])
	}
	return strings.Join(parts, ", ")
}

// changeParams gives a request new parameter values, from an edit of its
// issue's Parameters table or a new command, when the actor may change it.
func (e *Engine) changeParams(t *txn, req *store.Request, s *sop.SOP, actor Actor, values map[string]string, via string) error {
	if reason := e.mayChange(*req, s, actor); reason != "" {
		return &UsageError{Problem: "Parameters not changed: " + reason}
	}
	params, err := ValidateParams(s, values)
	if err != nil {
		return err
	}
	if err := e.checkInventory(t, s, params); err != nil {
		var usageErr *UsageError
		if errors.As(err, &usageErr) {
			return &UsageError{Problem: "Parameters not changed: " + usageErr.Problem}
		}
		return err
	}
	if target := fillTemplate(s.Binding.Target, params); target != req.Target {
		return &UsageError{Problem: fmt.Sprintf("Parameters not changed: the change would move the request from %s to %s; open a new request for that target.", req.Target, target)}
	}
	var changed []string
	for _, name := range sortedKeys(params) {
		if params[name] != req.Params[name] {
			changed = append(changed, fmt.Sprintf("%s %s → %s", name, req.Params[name], params[name]))
		}
	}
	if len(changed) == 0 {
		return nil
	}
	if err := e.DB.SetParams(t.ctx, t.tx, req.ID, params); err != nil {
		return err
	}
	req.Params = params
	summary := strings.Join(changed, ", ")
	if err := e.audit(t, req.ID, actor.Login, "parameters changed", map[string]any{"changes": changed, "via": via}); err != nil {
		return err
	}
	if err := e.enqueue(t, SyncParamsArgs{RequestID: req.ID}); err != nil {
		return err
	}
	if err := e.restartChecks(t, req, s); err != nil {
		return err
	}
	if err := e.refreshRevision(t, req, s, summary+" by "+actor.Mention()); err != nil {
		return err
	}
	return e.advance(t, req, s)
}

// mayChange returns why the actor cannot change the request's parameters,
// or "".
func (e *Engine) mayChange(req store.Request, s *sop.SOP, actor Actor) string {
	approvers, _ := s.ApprovalMembers()
	switch {
	case req.State != StateAwaitingReview && req.State != StateAwaitingApproval && req.State != StateQueued:
		return fmt.Sprintf("%s is %s; parameters change only before the approved action runs.", req.Label(), req.State)
	case !isRequester(req, actor) && !holdsAny(actor, approvers):
		return fmt.Sprintf("only the requester (@%s) or an approver can change %s.", req.RequesterLogin, req.Label())
	}
	return ""
}

// restartChecks unticks the items the bot checked and runs their checks
// again for the new parameters.
func (e *Engine) restartChecks(t *txn, req *store.Request, s *sop.SOP) error {
	items, err := e.DB.Items(t.ctx, t.tx, req.ID)
	if err != nil {
		return err
	}
	var unticked []string
	for _, key := range sortedKeys(s.Binding.Checks) {
		if !jobChecks[s.Binding.Checks[key]] {
			continue
		}
		if items[key].Checked {
			if err := e.DB.SetItem(t.ctx, t.tx, store.Item{RequestID: req.ID, Key: key, DeliveryID: t.deliveryID}); err != nil {
				return err
			}
			unticked = append(unticked, key)
		}
		if err := e.DB.SetCheckState(t.ctx, t.tx, req.ID, key, ""); err != nil {
			return err
		}
		if err := e.enqueue(t, CheckArgs{RequestID: req.ID, Key: key, Check: s.Binding.Checks[key], Params: req.ParamsKey()}); err != nil {
			return err
		}
	}
	if len(unticked) == 0 {
		return nil
	}
	return e.enqueue(t, SyncItemsArgs{RequestID: req.ID, Keys: unticked})
}
