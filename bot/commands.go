package bot

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/evidence/scan"
	"github.com/sopbot/sopbot/sop"
)

func (e *Engine) handleCommand(t *txn, c CommandIssued) error {
	if c.CommentID != 0 {
		if err := e.DB.MarkSeen(t.ctx, t.tx, "comment", c.CommentID); err != nil {
			return err
		}
	}
	if strings.EqualFold(c.Actor.Login, BotActor) {
		// The engine records its own work under BotActor and trusts what
		// that login did, such as a request it opened or an item it ticked.
		return e.replyError(t, c, &UsageError{Problem: fmt.Sprintf(
			"sopbot takes no commands from the GitHub login %s, because it records its own actions under that name. Use another account.", c.Actor.Login)})
	}
	cmd, err := e.Grammar.Parse(c.Line)
	if err != nil {
		return e.replyError(t, c, err)
	}
	switch cmd.Verb {
	case VerbHelp:
		err = e.reply(t, c.Origin, e.Grammar.HelpFor(cmd.Topic), true)
	case VerbOpen:
		err = e.openRequest(t, c, cmd)
	case VerbStatus:
		err = e.statusCommand(t, c, cmd)
	case VerbApprove:
		err = e.approveCommand(t, c, cmd)
	case VerbReject:
		err = e.rejectRequest(t, c, cmd)
	case VerbCancel:
		err = e.cancelCommand(t, c, cmd)
	case VerbRetry:
		err = e.retryCommand(t, c, cmd)
	case VerbPromote:
		err = e.promoteCommand(t, c, cmd)
	case VerbInventory:
		err = e.inventoryCommand(t, c)
	case VerbSecrets:
		err = e.secretsCommand(t, c)
	}
	return e.replyError(t, c, err)
}

// replyError replies to a user mistake where the command was typed and
// returns every other error to the caller.
func (e *Engine) replyError(t *txn, c CommandIssued, err error) error {
	var usageErr *UsageError
	if !errors.As(err, &usageErr) {
		return err
	}
	// The problem text can quote what the user typed, so the log names the
	// command's usage and the user instead.
	e.Log.Warn("command rejected", "delivery_id", c.DeliveryID, "source", c.Origin.Source,
		"user", c.Actor.Login, "usage", usageErr.Usage)
	return e.reply(t, c.Origin, usageErr.Error(), true)
}

func (e *Engine) openRequest(t *txn, c CommandIssued, cmd Command) error {
	s := cmd.SOP
	if c.Actor.Login == "" {
		return &UsageError{Problem: "Your Slack account is not paired with a GitHub login, so sopbot cannot record you as the requester. Ask an administrator to add you under `people` in the sopbot config."}
	}
	if err := e.checkInventory(t, s, cmd.Params); err != nil {
		return err
	}
	target := fillTemplate(s.Binding.Target, cmd.Params)
	state, behind := StateOpening, int64(0)
	existing, err := e.DB.OpenRequestByTarget(t.ctx, t.tx, target)
	switch {
	case err == nil && sameParams(existing.Params, cmd.Params):
		return e.reply(t, c.Origin, fmt.Sprintf("%s is already open for %s: %s (state: %s).",
			existing.Label(), target, linkOrPending(existing), existing.State), true)
	case err == nil && existing.SOPID == s.ID && e.mayChange(existing, s, c.Actor) == "" && existing.State != StateOpening:
		return e.changeByCommand(t, c, existing, cmd)
	case err == nil:
		state, behind = StateQueued, existing.ID
	case !errors.Is(err, store.ErrNotFound):
		return err
	}

	req := store.Request{
		SOPID: s.ID, SOPRevision: s.Revision, SOPSource: string(s.File), Target: target, State: state,
		Params: cmd.Params, RequesterLogin: c.Actor.Login, RequesterSlack: c.Actor.Slack,
		Origin: c.Origin, InstallationID: c.InstallationID, QueuedBehind: behind,
	}
	id, err := e.DB.InsertRequest(t.ctx, t.tx, req)
	if err != nil {
		return err
	}
	if err := e.DB.InsertItems(t.ctx, t.tx, id, itemsOf(s)); err != nil {
		return err
	}
	req.ID = id
	if err := e.DB.SetRevision(t.ctx, t.tx, id, requestRevision(req, s, nil)); err != nil {
		return err
	}
	detail := map[string]any{"sop": s.ID, "revision": s.Revision, "params": cmd.Params, "command": cmd.Text, "via": c.Origin.Source}
	if err := e.audit(t, id, c.Actor.Login, "request opened", detail); err != nil {
		return err
	}
	e.Log.Info("request opened", "request_id", id, "sop", s.ID, "target", target)
	return e.enqueue(t, OpenIssueArgs{RequestID: id})
}

// itemsOf lists every checklist item of the SOP, with its section.
func itemsOf(s *sop.SOP) []store.Item {
	var items []store.Item
	for _, sec := range s.Sections() {
		for _, item := range sec.Items {
			items = append(items, store.Item{Key: item.Key, Section: sec.Key})
		}
	}
	return items
}

func sameParams(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// changeByCommand applies a new command for the target of an open request
// as a change of that request's parameters.
func (e *Engine) changeByCommand(t *txn, c CommandIssued, req store.Request, cmd Command) error {
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	if err := e.changeParams(t, &req, s, c.Actor, cmd.Params, "command"); err != nil {
		return err
	}
	return e.reply(t, c.Origin, fmt.Sprintf("%s is open for %s, so it now carries the new parameters: %s. Earlier approvals no longer count.",
		req.Label(), req.Target, req.IssueURL), true)
}

func linkOrPending(req store.Request) string {
	if req.IssueURL != "" {
		return req.IssueURL
	}
	return "its issue is being opened"
}

// fillTemplate replaces {name} with the parameter's value.
func fillTemplate(template string, params map[string]string) string {
	pairs := make([]string, 0, 2*len(params))
	for name, value := range params {
		pairs = append(pairs, "{"+name+"}", value)
	}
	return strings.NewReplacer(pairs...).Replace(template)
}

func (e *Engine) handleIssueOpened(t *txn, ev IssueOpened) error {
	req, err := e.DB.GetRequest(t.ctx, t.tx, ev.RequestID)
	if err != nil {
		return err
	}
	if req.IssueNumber != 0 {
		return nil // a retried job already recorded it
	}
	if err := e.DB.SetIssue(t.ctx, t.tx, req.ID, ev.Number, ev.URL); err != nil {
		return err
	}
	req.IssueNumber, req.IssueURL = ev.Number, ev.URL
	if err := e.audit(t, req.ID, BotActor, "issue opened", map[string]any{"issue": ev.Number, "url": ev.URL}); err != nil {
		return err
	}
	if err := e.promotionIssueOpened(t, req); err != nil {
		return err
	}
	if req.Origin.Note != "" {
		if err := e.comment(t, req, req.Origin.Note); err != nil {
			return err
		}
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	title := s.RenderTitle(req.Params)
	text := fmt.Sprintf("Opened #%d %s for @%s: %s", ev.Number, title, req.RequesterLogin, ev.URL)
	if req.State == StateQueued {
		holder, err := e.DB.GetRequest(t.ctx, t.tx, req.QueuedBehind)
		if err != nil {
			return err
		}
		text += fmt.Sprintf(" It is queued behind %s, which holds %s, and starts when that request ends.", holder.Label(), req.Target)
		if err := e.reply(t, req.Origin, text, false); err != nil {
			return err
		}
		if err := e.enqueue(t, LabelsArgs{RequestID: req.ID}); err != nil {
			return err
		}
		return e.comment(t, req, fmt.Sprintf("⏳ Queued behind %s, which holds `%s`. This request starts, and its boxes can be ticked, when %s ends.", holder.Label(), req.Target, holder.Label()))
	}
	if err := e.reply(t, req.Origin, text, false); err != nil {
		return err
	}
	if err := e.startChecks(t, &req, s); err != nil {
		return err
	}
	return e.advance(t, &req, s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (e *Engine) statusCommand(t *txn, c CommandIssued, cmd Command) error {
	req, err := e.findRequest(t, cmd.Ref)
	if err != nil {
		return err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	p, err := e.progressOf(t, req, s)
	if err != nil {
		return err
	}
	runs, err := e.DB.ActionRuns(t.ctx, t.tx, req.ID)
	if err != nil {
		return err
	}
	text := e.statusText(req, s, p, runs)
	if req.State == StateOpening {
		line, err := e.openingTrouble(t, req)
		if err != nil {
			return err
		}
		if line != "" {
			text += "\n" + line
		}
	}
	return e.reply(t, c.Origin, text, true)
}

// openingTrouble returns a line on why the request's issue has not opened
// yet, when its open_issue job has failed, or "". The reply may be a
// public issue comment, so credentials are redacted before the error is
// cut, because a cut token would escape the detectors.
func (e *Engine) openingTrouble(t *txn, req store.Request) (string, error) {
	job, ok, err := e.DB.UnfinishedJob(t.ctx, t.tx, OpenIssueArgs{}.Kind(), req.ID)
	if err != nil || !ok || job.LastError == "" {
		return "", err
	}
	lastError, _ := scan.RedactSecrets(job.LastError)
	line := fmt.Sprintf("Opening the issue failed %d time(s), last with: %s", job.Failures, oneLine(lastError, 300))
	if job.State == "retryable" || job.State == "scheduled" {
		line += fmt.Sprintf(". sopbot tries again at %s", job.Next.Format(time.RFC3339))
	}
	return line + ".\n", nil
}

// oneLine returns the first line of s, cut to at most n runes.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if runes := []rune(s); len(runes) > n {
		return string(runes[:n]) + "…"
	}
	return s
}

func (e *Engine) statusText(req store.Request, s *sop.SOP, p progress, runs map[string]store.ActionRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n", req.Label(), s.RenderTitle(req.Params), req.State)
	if req.IssueURL != "" {
		fmt.Fprintf(&b, "%s\n", req.IssueURL)
	}
	if req.Reason != "" {
		fmt.Fprintf(&b, "Reason: %s\n", req.Reason)
	}
	for _, sec := range s.Sections() {
		if len(sec.Items) == 0 {
			continue
		}
		mark := "☐"
		if p.done[sec.Key] {
			mark = "☑"
		}
		fmt.Fprintf(&b, "%s %s", mark, sec.Title)
		if missing := p.missing[sec.Key]; missing != "" {
			fmt.Fprintf(&b, ": %s", missing)
		}
		b.WriteString("\n")
	}
	if len(s.Binding.Actions) > 0 {
		b.WriteString("Actions:\n")
		for _, line := range actionLines(s, runs) {
			fmt.Fprintf(&b, "• %s\n", line)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func (e *Engine) cancelCommand(t *txn, c CommandIssued, cmd Command) error {
	req, err := e.findRequest(t, cmd.Ref)
	if err != nil {
		return err
	}
	if req.Terminal() {
		return &UsageError{Problem: fmt.Sprintf("%s is already %s.", req.Label(), req.State)}
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	approvers, _ := s.ApprovalMembers()
	if isRetraining(s) {
		approvers = decisionMembers(s)
	}
	if !isRequester(req, c.Actor) && !holdsAny(c.Actor, approvers) {
		return &UsageError{Problem: fmt.Sprintf("Only the requester (@%s) or an approver (%s) can cancel %s.",
			req.RequesterLogin, strings.Join(approvers, ", "), req.Label())}
	}
	if req.State == StateActing {
		return &UsageError{Problem: fmt.Sprintf("%s cannot be cancelled while its action runs; wait for the result.", req.Label())}
	}
	stop, err := e.pipelineStopOf(t, req)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("cancelled by %s", c.Actor.Mention()) + stop.reasonSuffix()
	if err := e.finish(t, &req, StateCancelled, reason, c.Actor.Login); err != nil {
		return err
	}
	return e.queuePipelineStop(t, req, stop, StopOrder{By: c.Actor.Login, Reason: "the request was cancelled", RequestState: StateCancelled})
}

// finish ends a request: state, audit, a comment and the issue closed.
func (e *Engine) finish(t *txn, req *store.Request, state, reason, actor string) error {
	if err := e.setState(t, req, state, reason); err != nil {
		return err
	}
	if err := e.audit(t, req.ID, actor, "request "+state, reason); err != nil {
		return err
	}
	if err := e.promotionEnded(t, *req); err != nil {
		return err
	}
	if req.IssueNumber == 0 {
		return nil
	}
	text := fmt.Sprintf("This request is **%s**: %s.", state, reason)
	if err := e.comment(t, *req, text); err != nil {
		return err
	}
	if s, err := e.sopOf(*req); err == nil {
		records, err := e.recordsComment(t, *req, s)
		if err != nil {
			return err
		}
		if err := e.comment(t, *req, records); err != nil {
			return err
		}
	}
	return e.enqueue(t, CloseIssueArgs{RequestID: req.ID})
}

func holdsAny(actor Actor, members []string) bool {
	for _, m := range members {
		if actor.Holds(m) {
			return true
		}
	}
	return false
}

func (e *Engine) handleIssueClosed(t *txn, ev IssueClosed) error {
	req, err := e.DB.RequestByIssue(t.ctx, t.tx, ev.Issue)
	if errors.Is(err, store.ErrNotFound) || (err == nil && req.Terminal()) {
		return nil
	}
	if err != nil {
		return err
	}
	if req.State == StateActing {
		// The action may already have changed the registry, so its result
		// must still be recorded; the request is not cancelled under it.
		if err := e.audit(t, req.ID, ev.Actor.Login, "issue closed during action", nil); err != nil {
			return err
		}
		return e.comment(t, req, fmt.Sprintf("%s closed this issue while `%s` runs. sopbot records the action's result here; cancel the request once it has finished.", ev.Actor.Mention(), e.actionName(req)))
	}
	stop, err := e.pipelineStopOf(t, req)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("issue closed by %s", ev.Actor.Mention()) + stop.reasonSuffix()
	if err := e.setState(t, &req, StateCancelled, reason); err != nil {
		return err
	}
	if err := e.audit(t, req.ID, ev.Actor.Login, "request cancelled", "issue closed"); err != nil {
		return err
	}
	order := StopOrder{By: ev.Actor.Login, Reason: "the issue was closed", RequestState: StateCancelled}
	if err := e.queuePipelineStop(t, req, stop, order); err != nil {
		return err
	}
	return e.promotionEnded(t, req)
}

// actionName returns the action a request's SOP runs at its approval gate.
func (e *Engine) actionName(req store.Request) string {
	if s, err := e.sopOf(req); err == nil {
		return s.Binding.OnApproved
	}
	return "the action"
}
