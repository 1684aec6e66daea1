package bot

import (
	"fmt"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// Ways a sign-off is given.
const (
	ViaCheckbox = "checkbox"
	ViaCommand  = "command"
	ViaReview   = "review"
	ViaButton   = "slack button"
)

// approvalItems maps each approval role member to its generated checkbox
// key. The generated items follow the approval step's own items, one per
// member, in the order of the role line.
func approvalItems(s *sop.SOP) map[string]string {
	members, _ := s.ApprovalMembers()
	sec, ok := s.ApprovalSection()
	out := map[string]string{}
	if !ok || len(sec.Items) < len(members) {
		return out
	}
	generated := sec.Items[len(sec.Items)-len(members):]
	for i, m := range members {
		out[normalizeMember(m)] = generated[i].Key
	}
	return out
}

func isApprovalItem(key string) bool { return strings.HasPrefix(key, "approve-") }

// judgeSign decides which approval member the actor signs as, or why they
// cannot sign now.
func (e *Engine) judgeSign(t *txn, req store.Request, s *sop.SOP, actor Actor) (string, string, error) {
	switch req.State {
	case StateAwaitingApproval:
	case StateAwaitingReview, StateOpening:
		p, err := e.progressOf(t, req, s)
		if err != nil {
			return "", "", err
		}
		return "", "the approval opens once the preconditions and reviews are complete; still open: " + openSections(s, p) + ".", nil
	default:
		return "", fmt.Sprintf("%s is %s, so it takes no more sign-offs.", req.Label(), req.State), nil
	}
	if isRequester(req, actor) {
		return "", "you opened this request, and a requester never signs off their own request.", nil
	}
	members, join := s.ApprovalMembers()
	signoffs, err := e.DB.ActiveSignoffs(t.ctx, t.tx, req.ID)
	if err != nil {
		return "", "", err
	}
	signedBy := map[string]string{}
	for _, so := range signoffs {
		signedBy[normalizeMember(so.Member)] = so.Login
		if strings.EqualFold(so.Login, actor.Login) {
			return "", fmt.Sprintf("you already signed as %s.", so.Member), nil
		}
	}
	var held []string
	for _, m := range members {
		if actor.Holds(m) {
			held = append(held, m)
		}
	}
	if len(held) == 0 {
		return "", "you are not an approver of this request. " + whoMayTick(e.Directory, members, false), nil
	}
	for _, m := range held {
		if signedBy[normalizeMember(m)] == "" {
			return m, "", nil
		}
	}
	if join == sop.JoinAny {
		return "", "the approval is already signed.", nil
	}
	return "", fmt.Sprintf("%s already signed as %s.", "@"+signedBy[normalizeMember(held[0])], held[0]), nil
}

// openSections lists the unfinished sections before the approval step,
// the ones the approval waits for.
func openSections(s *sop.SOP, p progress) string {
	var open []string
	for _, sec := range s.Sections() {
		if !p.done[sec.Key] && s.BeforeApproval(sec) && p.missing[sec.Key] != "" {
			open = append(open, sec.Title+" ("+p.missing[sec.Key]+")")
		}
	}
	if len(open) == 0 {
		return "nothing"
	}
	return strings.Join(open, "; ")
}

// sign records a sign-off and ticks the member's approval box.
func (e *Engine) sign(t *txn, req *store.Request, s *sop.SOP, actor Actor, member string, so store.Signoff) error {
	so.RequestID, so.Member, so.Login, so.DeliveryID, so.Revision = req.ID, member, actor.Login, t.deliveryID, req.Revision
	if err := e.DB.InsertSignoff(t.ctx, t.tx, so); err != nil {
		return err
	}
	key := approvalItems(s)[normalizeMember(member)]
	if key != "" {
		item := store.Item{RequestID: req.ID, Key: key, Checked: true, ByLogin: actor.Login, ByMember: member, DeliveryID: t.deliveryID}
		if err := e.DB.SetItem(t.ctx, t.tx, item); err != nil {
			return err
		}
		if so.Via != ViaCheckbox {
			if err := e.enqueue(t, SyncItemsArgs{RequestID: req.ID, Keys: []string{key}}); err != nil {
				return err
			}
		}
	}
	if err := e.enqueue(t, GateMessageArgs{RequestID: req.ID}); err != nil {
		return err
	}
	e.Log.Info("sign-off recorded", "request_id", req.ID, "sop", req.SOPID, "github_login", actor.Login, "member", member, "via", so.Via)
	return e.audit(t, req.ID, actor.Login, "signed off", map[string]any{
		"member": member, "via": so.Via, "ref": so.Ref, "pull_request": so.PRNumber, "commit": so.CommitSHA,
		"revision": shortSHA(req.Revision),
	})
}

// revoke withdraws the active sign-offs that match and unticks their boxes.
func (e *Engine) revoke(t *txn, req *store.Request, s *sop.SOP, match func(store.Signoff) bool, why string) (int, error) {
	signoffs, err := e.DB.ActiveSignoffs(t.ctx, t.tx, req.ID)
	if err != nil {
		return 0, err
	}
	keys := approvalItems(s)
	var unticked []string
	for _, so := range signoffs {
		if !match(so) {
			continue
		}
		if err := e.DB.RevokeSignoff(t.ctx, t.tx, so.ID, why); err != nil {
			return 0, err
		}
		if key := keys[normalizeMember(so.Member)]; key != "" {
			if err := e.DB.SetItem(t.ctx, t.tx, store.Item{RequestID: req.ID, Key: key, DeliveryID: t.deliveryID}); err != nil {
				return 0, err
			}
			unticked = append(unticked, key)
		}
		if err := e.audit(t, req.ID, BotActor, "sign-off revoked", map[string]any{"login": so.Login, "member": so.Member, "via": so.Via, "why": why}); err != nil {
			return 0, err
		}
	}
	if len(unticked) > 0 {
		if err := e.enqueue(t, SyncItemsArgs{RequestID: req.ID, Keys: unticked}); err != nil {
			return 0, err
		}
	}
	return len(unticked), nil
}

// applyApprovalTick handles a tick or untick of an "Approved by …" box.
func (e *Engine) applyApprovalTick(t *txn, req *store.Request, s *sop.SOP, actor Actor, change tickChange, stored store.Item) (string, bool, error) {
	var boxMember, boxName string
	members, _ := s.ApprovalMembers()
	for _, m := range members {
		if approvalItems(s)[normalizeMember(m)] == change.key {
			boxMember, boxName = normalizeMember(m), m
		}
	}
	if !change.checked {
		if !strings.EqualFold(stored.ByLogin, actor.Login) {
			return fmt.Sprintf("the box %q was set back: only @%s, who signed it, can withdraw that sign-off.", change.text, stored.ByLogin), true, nil
		}
		_, err := e.revoke(t, req, s, func(so store.Signoff) bool { return normalizeMember(so.Member) == boxMember }, "withdrawn by "+actor.Mention())
		return "", false, err
	}
	member, reason, err := e.judgeSign(t, *req, s, actor)
	if err != nil {
		return "", false, err
	}
	if reason == "" && normalizeMember(member) != boxMember {
		if actor.Holds(boxMember) {
			member = boxMember
		} else {
			reason = fmt.Sprintf("that box is for %s; you sign as %s. Tick that box or use `/mlops approve %s`.", boxName, member, req.Label())
		}
	}
	if reason == "" && len(change.staleParams) > 0 {
		reason = fmt.Sprintf("the Parameters table you ticked it in differs from the request's (%s), and a sign-off counts only for parameters reviewed as they are; review the parameters in %s and tick it again.",
			strings.Join(change.staleParams, ", "), req.Label())
	}
	if reason != "" {
		e.Log.Warn("approval tick rejected", "request_id", req.ID, "sop", req.SOPID, "github_login", actor.Login, "reason", reason)
		if err := e.audit(t, req.ID, actor.Login, "change reverted", map[string]any{"item": change.key, "reason": reason}); err != nil {
			return "", false, err
		}
		return fmt.Sprintf("the box %q was set back: %s", change.text, reason), true, nil
	}
	return "", false, e.sign(t, req, s, actor, member, store.Signoff{Via: ViaCheckbox, Ref: change.key})
}

// paramDifferences lists the declared parameters whose value in seen, the
// Parameters table of an edited body, differs from the request's, such as
// "deployment `mlflow-server` where the request has `payments-api`". A nil
// seen, from a body without that table, differs in nothing.
func paramDifferences(s *sop.SOP, seen, current map[string]string) []string {
	if seen == nil {
		return nil
	}
	var out []string
	for _, p := range s.Binding.Params {
		if edited := seen[p.Name]; edited != current[p.Name] {
			out = append(out, fmt.Sprintf("%s %s where the request has %s", p.Name, quoteInput(edited, 40), quoteInput(current[p.Name], 40)))
		}
	}
	return out
}

func (e *Engine) approveCommand(t *txn, c CommandIssued, cmd Command) error {
	req, err := e.findRequest(t, cmd.Ref)
	if err != nil {
		return err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	member, reason, err := e.judgeSign(t, req, s, c.Actor)
	if err != nil {
		return err
	}
	if reason == "" && cmd.Revision != "" {
		changes, err := e.changesSince(t, req, cmd.Revision)
		if err != nil {
			return err
		}
		if changes != "" {
			reason = fmt.Sprintf("the request changed since revision %s: %s; review the new parameters in %s.", cmd.Revision, changes, issueRef(req))
		}
	}
	if reason != "" {
		e.Log.Warn("approval rejected", "request_id", req.ID, "sop", req.SOPID, "github_login", c.Actor.Login, "reason", reason)
		return &UsageError{Problem: fmt.Sprintf("Not signed: %s", reason)}
	}
	if err := e.sign(t, &req, s, c.Actor, member, store.Signoff{Via: ViaCommand, Ref: t.deliveryID}); err != nil {
		return err
	}
	if err := e.reply(t, c.Origin, fmt.Sprintf("Signed %s as %s.", req.Label(), member), true); err != nil {
		return err
	}
	if c.Origin.Issue != req.IssueNumber {
		if err := e.comment(t, req, fmt.Sprintf("%s signed the approval as %s with `/mlops approve`.", c.Actor.Mention(), member)); err != nil {
			return err
		}
	}
	return e.advance(t, &req, s)
}

func (e *Engine) rejectCommand(t *txn, c CommandIssued, cmd Command) error {
	req, err := e.findRequest(t, cmd.Ref)
	if err != nil {
		return err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	if reason := e.mayReject(req, s, c.Actor); reason != "" {
		return &UsageError{Problem: "Not rejected: " + reason}
	}
	if err := e.reject(t, &req, c.Actor, cmd.Reason, "command"); err != nil {
		return err
	}
	return e.reply(t, c.Origin, fmt.Sprintf("Rejected %s: %s", req.Label(), cmd.Reason), true)
}

// mayReject returns why the actor cannot reject the request, or "".
func (e *Engine) mayReject(req store.Request, s *sop.SOP, actor Actor) string {
	members, _ := s.ApprovalMembers()
	switch {
	case req.Terminal():
		return fmt.Sprintf("%s is already %s.", req.Label(), req.State)
	case req.State == StateActing || req.State == StateDeploying:
		return fmt.Sprintf("%s is already approved and its action has run or is running.", req.Label())
	case isRequester(req, actor):
		return "you opened this request; use `/mlops cancel` to withdraw it."
	case !holdsAny(actor, members):
		return "only an approver can reject. " + whoMayTick(e.Directory, members, false)
	}
	return ""
}

func (e *Engine) reject(t *txn, req *store.Request, actor Actor, reason, via string) error {
	if err := e.audit(t, req.ID, actor.Login, "rejected", map[string]string{"reason": reason, "via": via}); err != nil {
		return err
	}
	text := fmt.Sprintf("rejected by %s: %s. @%s, please address the reason and open a new request", actor.Mention(), reason, req.RequesterLogin)
	return e.finish(t, req, StateRejected, text, actor.Login)
}
