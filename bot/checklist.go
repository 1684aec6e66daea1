package bot

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// tickChange is one checkbox that an edit flipped.
type tickChange struct {
	key     string
	checked bool
	text    string
	// staleParams lists the parameters that the edited body shows with
	// other values than the request had before the edit. An approval tick
	// counts only for parameters the approver saw unchanged.
	staleParams []string
}

// diffChecklist returns the checkboxes that differ between two bodies,
// in the order they appear in the new body.
func diffChecklist(oldBody, newBody string) []tickChange {
	before := sop.ReadChecklist(oldBody)
	after := sop.ReadChecklist(newBody)
	var changes []tickChange
	for key, entry := range after {
		if prev, ok := before[key]; ok && prev.Checked != entry.Checked {
			changes = append(changes, tickChange{key: key, checked: entry.Checked, text: entry.Text})
		}
	}
	sortChanges(changes, after)
	return changes
}

func sortChanges(changes []tickChange, entries map[string]sop.ChecklistEntry) {
	for i := 1; i < len(changes); i++ {
		for j := i; j > 0 && entries[changes[j].key].Line < entries[changes[j-1].key].Line; j-- {
			changes[j], changes[j-1] = changes[j-1], changes[j]
		}
	}
}

// verdict is the decision on one checkbox change.
type verdict struct {
	accepted bool
	member   string // the role member the tick counts for
	reason   string // why a rejected change is reverted
}

func (e *Engine) handleChecklistEdited(t *txn, ev ChecklistEdited) error {
	if !ev.HasOld {
		return nil // title or other fields only: GitHub sends no previous body
	}
	req, err := e.DB.RequestByIssue(t.ctx, t.tx, ev.Issue)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	staleParams := paramDifferences(s, sop.ReadParams(ev.NewBody), req.Params)
	if err := e.paramsEdited(t, &req, s, ev); err != nil {
		return err
	}
	changes := diffChecklist(ev.OldBody, ev.NewBody)
	if len(changes) == 0 {
		return nil
	}
	for i := range changes {
		changes[i].staleParams = staleParams
	}

	var reverted []string
	var notes []string
	for _, change := range changes {
		note, revert, err := e.applyChange(t, &req, s, ev.Actor, change)
		if err != nil {
			return err
		}
		if revert {
			reverted = append(reverted, change.key)
		}
		if note != "" {
			notes = append(notes, note)
		}
	}

	reverted = append(reverted, e.driftedItems(t, req.ID, changes, ev.NewBody)...)
	if len(reverted) > 0 {
		if err := e.enqueue(t, SyncItemsArgs{RequestID: req.ID, Keys: reverted}); err != nil {
			return err
		}
	}
	if len(notes) > 0 {
		if err := e.comment(t, req, ev.Actor.Mention()+", "+strings.Join(notes, "\n\n")); err != nil {
			return err
		}
	}
	return e.advance(t, &req, s)
}

// applyChange records or rejects one flipped checkbox. It returns a note
// for the actor when the change is reverted or needs explaining.
func (e *Engine) applyChange(t *txn, req *store.Request, s *sop.SOP, actor Actor, change tickChange) (string, bool, error) {
	sec, ok := s.ItemSection(change.key)
	if !ok {
		return "", false, nil
	}
	items, err := e.DB.Items(t.ctx, t.tx, req.ID)
	if err != nil {
		return "", false, err
	}
	stored, ok := items[change.key]
	if !ok || stored.Checked == change.checked {
		return "", false, nil // already in that state: a concurrent edit or the bot's own sync
	}
	if req.Terminal() || req.State == StateOpening || req.State == StateQueued {
		return fmt.Sprintf("this request is %s, so the box %q was set back.", req.State, change.text), true, nil
	}
	if sec.Approval && isApprovalItem(change.key) {
		return e.applyApprovalTick(t, req, s, actor, change, stored)
	}

	var v verdict
	if change.checked {
		v, err = e.judgeTick(t, *req, s, sec, actor, change.key, items)
	} else {
		v = judgeUntick(s, sec, actor, stored)
	}
	if err != nil {
		return "", false, err
	}
	if !v.accepted {
		e.Log.Warn("checkbox change rejected", "request_id", req.ID, "sop", req.SOPID, "item", change.key, "github_login", actor.Login, "reason", v.reason)
		if err := e.audit(t, req.ID, actor.Login, "change reverted", map[string]any{"item": change.key, "checked": change.checked, "reason": v.reason}); err != nil {
			return "", false, err
		}
		return fmt.Sprintf("the box %q was set back: %s", change.text, v.reason), true, nil
	}
	return "", false, e.recordTick(t, req, actor, change, v.member)
}

func (e *Engine) recordTick(t *txn, req *store.Request, actor Actor, change tickChange, member string) error {
	item := store.Item{RequestID: req.ID, Key: change.key, Checked: change.checked, DeliveryID: t.deliveryID}
	action := "item unticked"
	if change.checked {
		item.ByLogin, item.ByMember = actor.Login, member
		action = "item ticked"
	}
	if err := e.DB.SetItem(t.ctx, t.tx, item); err != nil {
		return err
	}
	return e.audit(t, req.ID, actor.Login, action, map[string]any{"item": change.key, "text": change.text, "as": member})
}

// judgeTick decides whether the actor may tick an item of sec.
func (e *Engine) judgeTick(t *txn, req store.Request, s *sop.SOP, sec sop.Section, actor Actor, key string, items map[string]store.Item) (verdict, error) {
	if check, ok := s.Binding.Checks[key]; ok && items[key].CheckState != CheckNotApplicable {
		return verdict{reason: fmt.Sprintf("sopbot ticks this box itself when its check (%s) passes.", check)}, nil
	}
	if action, ok := actionTicks(s)[key]; ok && items[key].CheckState != CheckNotApplicable {
		return verdict{reason: fmt.Sprintf("sopbot ticks this box itself when `%s` succeeds.", action)}, nil
	}
	members, requesterMay, botOnly, _ := s.TickMembers(sec)
	if botOnly {
		return verdict{reason: "only sopbot ticks this box."}, nil
	}
	if after := sec.Rule.After; after != "" {
		p, err := e.progressOf(t, req, s)
		if err != nil {
			return verdict{}, err
		}
		if !p.done[after] {
			return verdict{reason: fmt.Sprintf("%s opens after %s is complete.", sec.Title, describeSection(s, after))}, nil
		}
	}
	// A waiting window, such as SOP-02's monitoring window, holds the box
	// back until it ends (see ItemWindows).
	if reason, err := e.windowReason(t, req, s, key); err != nil || reason != "" {
		return verdict{reason: reason}, err
	}
	requester := isRequester(req, actor)
	if requester {
		if requesterMay {
			return verdict{accepted: true, member: chooseMember(actor, members, sec, items)}, nil
		}
		return verdict{reason: "you opened this request, and a requester never signs off their own request. " + whoMayTick(e.Directory, members, false)}, nil
	}
	if member := chooseMember(actor, members, sec, items); member != "" {
		return verdict{accepted: true, member: member}, nil
	}
	reason := "you do not hold a role that ticks " + sec.Title + ". " + whoMayTick(e.Directory, members, requesterMay)
	if len(actor.Unresolved) > 0 {
		reason += fmt.Sprintf(" (Team membership for %s could not be checked, so sopbot counted it as not held.)", strings.Join(actor.Unresolved, ", "))
	}
	return verdict{reason: reason}, nil
}

// judgeUntick lets the person who ticked an item, or a holder of the
// member it counted for, take the tick back.
func judgeUntick(s *sop.SOP, sec sop.Section, actor Actor, stored store.Item) verdict {
	if _, ok := s.Binding.Checks[stored.Key]; ok && stored.ByLogin == BotActor {
		return verdict{reason: "sopbot ticked this box after its check passed; the evidence is in the comments."}
	}
	if action, ok := actionTicks(s)[stored.Key]; ok && stored.ByLogin == BotActor {
		return verdict{reason: fmt.Sprintf("sopbot ticked this box when `%s` succeeded; the result is in the comments.", action)}
	}
	if strings.EqualFold(stored.ByLogin, actor.Login) || (stored.ByMember != "" && actor.Holds(stored.ByMember)) {
		return verdict{accepted: true}
	}
	members, _, _, _ := s.TickMembers(sec)
	return verdict{reason: fmt.Sprintf("@%s ticked it; only they or another holder of the role can untick it. %s", stored.ByLogin, whoMayTick(nil, members, false))}
}

// whoMayTick names the role members of a section and, where known, who
// holds them.
func whoMayTick(dir *Directory, members []string, requester bool) string {
	var parts []string
	if requester {
		parts = append(parts, "the requester")
	}
	for _, m := range members {
		part := m
		if dir != nil {
			if handles := dir.Handles(m); len(handles) > 0 {
				part += " (" + strings.Join(handles, ", ") + ")"
			}
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return ""
	}
	return "It may be ticked by: " + strings.Join(parts, ", ") + "."
}

func describeSection(s *sop.SOP, key string) string {
	if key == sectionApproval {
		return "the approval"
	}
	if sec, ok := s.Section(key); ok {
		return sec.Title
	}
	return key
}

// driftedItems returns the boxes whose state in the edited body differs
// from the store although this edit did not flip them: a write that raced
// another one lost them, so the bot puts them back.
func (e *Engine) driftedItems(t *txn, requestID int64, changes []tickChange, body string) []string {
	items, err := e.DB.Items(t.ctx, t.tx, requestID)
	if err != nil {
		return nil
	}
	flipped := map[string]bool{}
	for _, c := range changes {
		flipped[c.key] = true
	}
	var drifted []string
	for key, entry := range sop.ReadChecklist(body) {
		if stored, ok := items[key]; ok && !flipped[key] && stored.Checked != entry.Checked {
			drifted = append(drifted, key)
		}
	}
	sort.Strings(drifted)
	return drifted
}

// paramsEdited applies an edit of the issue's Parameters table. A change
// the actor may not make, or an invalid value, is put back with a comment.
func (e *Engine) paramsEdited(t *txn, req *store.Request, s *sop.SOP, ev ChecklistEdited) error {
	before, after := sop.ReadParams(ev.OldBody), sop.ReadParams(ev.NewBody)
	if after == nil || sameParams(before, after) {
		return nil
	}
	values := map[string]string{}
	for name, value := range req.Params {
		values[name] = value
	}
	for name, value := range after {
		if _, known := values[name]; known {
			values[name] = value
		}
	}
	err := e.changeParams(t, req, s, ev.Actor, values, "issue edit")
	var usageErr *UsageError
	if !errors.As(err, &usageErr) {
		return err
	}
	if err := e.audit(t, req.ID, ev.Actor.Login, "parameter edit reverted", usageErr.Problem); err != nil {
		return err
	}
	if err := e.enqueue(t, SyncParamsArgs{RequestID: req.ID}); err != nil {
		return err
	}
	return e.comment(t, *req, ev.Actor.Mention()+", the Parameters table was set back. "+usageErr.Problem)
}
