package bot

import (
	"fmt"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// progress is how far a request's checklist is, computed from the store.
type progress struct {
	items        map[string]store.Item
	done         map[string]bool   // section key → complete
	missing      map[string]string // section key → what it still needs
	reviewsDone  bool              // every section before the approval step
	approvalDone bool
	allDone      bool
}

// sectionApproval is the progress key of the approval gate, as a section
// rule's After names it.
const sectionApproval = "approval"

func (e *Engine) progressOf(t *txn, req store.Request, s *sop.SOP) (progress, error) {
	items, err := e.DB.Items(t.ctx, t.tx, req.ID)
	if err != nil {
		return progress{}, err
	}
	p := progress{items: items, done: map[string]bool{}, missing: map[string]string{},
		reviewsDone: true, approvalDone: true, allDone: true}
	for _, sec := range s.Sections() {
		done, missing := sectionState(s, sec, items)
		p.done[sec.Key] = done
		if !done {
			p.missing[sec.Key] = missing
			p.allDone = false
		}
		switch {
		case sec.Approval:
			p.approvalDone = p.approvalDone && done
		case s.BeforeApproval(sec):
			p.reviewsDone = p.reviewsDone && done
		}
	}
	p.done[sectionApproval] = p.approvalDone && p.reviewsDone
	return p, nil
}

// sectionState reports whether every item of a section is ticked and, for
// an "A and B" rule, whether a different person ticked for each member.
func sectionState(s *sop.SOP, sec sop.Section, items map[string]store.Item) (bool, string) {
	anyApproval := false
	if sec.Approval {
		if _, join := s.ApprovalMembers(); join == sop.JoinAny {
			for _, item := range sec.Items {
				anyApproval = anyApproval || (isApprovalItem(item.Key) && items[item.Key].Checked)
			}
		}
	}
	var open []string
	for _, item := range sec.Items {
		if !items[item.Key].Checked && !(anyApproval && isApprovalItem(item.Key)) {
			open = append(open, item.Text)
		}
	}
	members, _, _, join := s.TickMembers(sec)
	var uncovered []string
	if join == sop.JoinAll && !sec.Approval {
		covered := map[string]string{} // member → login
		for _, item := range sec.Items {
			if st := items[item.Key]; st.Checked && st.ByMember != "" {
				covered[normalizeMember(st.ByMember)] = st.ByLogin
			}
		}
		for _, m := range members {
			if covered[normalizeMember(m)] == "" {
				uncovered = append(uncovered, m)
			}
		}
	}
	if len(open) == 0 && len(uncovered) == 0 {
		return true, ""
	}
	var parts []string
	if len(open) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d open (%s)", len(open), len(sec.Items), strings.Join(clipAll(open, 3), "; ")))
	}
	if len(uncovered) > 0 {
		parts = append(parts, "needs a tick from "+strings.Join(uncovered, " and "))
	}
	return false, strings.Join(parts, ", ")
}

func clipAll(texts []string, n int) []string {
	if len(texts) <= n {
		return texts
	}
	return append(texts[:n:n], fmt.Sprintf("%d more", len(texts)-n))
}

// advance moves a request to the state its checklist implies and starts
// the action when the approval gate opens.
func (e *Engine) advance(t *txn, req *store.Request, s *sop.SOP) error {
	p, err := e.progressOf(t, *req, s)
	if err != nil {
		return err
	}
	if len(s.Binding.Actions) > 0 {
		return e.advanceWithActions(t, req, s, p)
	}
	switch req.State {
	case StateOpening, StateAwaitingReview, StateAwaitingApproval:
	case StateDeploying:
		if p.allDone && s.Binding.CloseWhenDone {
			return e.finish(t, req, StateDone, "every step is complete", BotActor)
		}
		return nil
	default:
		return nil
	}
	if req.IssueNumber == 0 {
		return nil
	}
	switch {
	case !p.reviewsDone:
		return e.setState(t, req, StateAwaitingReview, "")
	case !p.approvalDone:
		return e.setState(t, req, StateAwaitingApproval, "")
	}
	return e.startAction(t, req, s)
}

// startAction runs the binding's action once the approval gate is open, or
// moves straight on when the SOP names none.
func (e *Engine) startAction(t *txn, req *store.Request, s *sop.SOP) error {
	if s.Binding.OnApproved == "" {
		return e.setState(t, req, StateDeploying, "approved")
	}
	if err := e.setState(t, req, StateActing, "approved"); err != nil {
		return err
	}
	signers, err := e.signerSummary(t, *req)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("Every gate is complete (%s). Running `%s`.", signers, s.Binding.OnApproved)
	if err := e.comment(t, *req, text); err != nil {
		return err
	}
	return e.enqueue(t, ActionArgs{RequestID: req.ID, Action: s.Binding.OnApproved})
}

// signerSummary lists the active sign-offs as "@dana (ML lead), …".
func (e *Engine) signerSummary(t *txn, req store.Request) (string, error) {
	signoffs, err := e.DB.ActiveSignoffs(t.ctx, t.tx, req.ID)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, so := range signoffs {
		parts = append(parts, fmt.Sprintf("@%s (%s, by %s)", so.Login, so.Member, so.Via))
	}
	if len(parts) == 0 {
		return "no sign-offs", nil
	}
	return "approved by " + strings.Join(parts, ", "), nil
}

// chooseMember picks which role member a tick counts for: the one the
// actor already counts for in this section, else one nobody covers yet,
// else the first the actor holds. One person never covers two members.
func chooseMember(actor Actor, members []string, sec sop.Section, items map[string]store.Item) string {
	var held []string
	for _, m := range members {
		if actor.Holds(m) {
			held = append(held, m)
		}
	}
	if len(held) == 0 {
		return ""
	}
	covered := map[string]string{}
	for _, item := range sec.Items {
		if st := items[item.Key]; st.Checked && st.ByMember != "" {
			covered[normalizeMember(st.ByMember)] = st.ByLogin
		}
	}
	for _, m := range held {
		if covered[normalizeMember(m)] == actor.Login {
			return m
		}
	}
	for _, m := range held {
		if covered[normalizeMember(m)] == "" {
			return m
		}
	}
	return held[0]
}
