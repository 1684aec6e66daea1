package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// InfraArgs runs one infra action of a request. Queued is the time the
// action was queued, so a retry after a failure is a new unique job.
type InfraArgs struct {
	RequestID int64  `json:"request_id" river:"unique"`
	Action    string `json:"action" river:"unique"`
	Queued    string `json:"queued" river:"unique"`
}

// Kind implements river.JobArgs.
func (InfraArgs) Kind() string { return "infra_action" }

// InsertOpts makes each queueing of an action one job, and gives actions
// fewer attempts than River's default: a failure a person must fix shows
// up on the issue within minutes rather than days.
func (InfraArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// InfraFinished is the outcome of one infra action.
type InfraFinished struct {
	RequestID int64
	Action    string
	Succeeded bool
	Summary   string   // Markdown for the issue comment
	Result    string   // JSON for the audit trail and the records
	Error     string   // what failed, for a failure
	Ticks     []string // items to tick; nil ticks every item the rule names
	// Progress, when set, replaces the saved progress, so a retry of a
	// failed action knows what its last attempt left behind.
	Progress string
}

func (InfraFinished) eventName() string { return "infra_finished" }

// InfraProgressed saves a running action's progress and posts its notice.
type InfraProgressed struct {
	RequestID int64
	Action    string
	Progress  string
	Notice    string
}

func (InfraProgressed) eventName() string { return "infra_progressed" }

func (e *Engine) handleInfraProgressed(t *txn, ev InfraProgressed) error {
	req, err := e.DB.GetRequest(t.ctx, t.tx, ev.RequestID)
	if err != nil {
		return err
	}
	run, err := e.DB.ActionRun(t.ctx, t.tx, req.ID, ev.Action)
	if err != nil || run.State != store.RunRunning {
		return err
	}
	// Progress is saved after the request ended too, because it records
	// outside work, such as a KFP run, that a stop action then finds.
	if err := e.DB.SaveActionProgress(t.ctx, t.tx, req.ID, ev.Action, ev.Progress); err != nil {
		return err
	}
	if _, isStop := stopActions[ev.Action]; ev.Notice == "" || (req.Terminal() && !isStop) {
		return nil
	}
	if err := e.audit(t, req.ID, BotActor, "action waiting", map[string]string{"action": ev.Action, "notice": ev.Notice}); err != nil {
		return err
	}
	return e.comment(t, req, "⏳ `"+ev.Action+"`: "+ev.Notice)
}

// actionRule returns the binding's rule for an action.
func actionRule(s *sop.SOP, name string) (sop.ActionRule, bool) {
	for _, a := range s.Binding.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return sop.ActionRule{}, false
}

// actionTicks returns the items that some action of s ticks, by item key.
func actionTicks(s *sop.SOP) map[string]string {
	out := map[string]string{}
	for _, a := range s.Binding.Actions {
		for _, key := range a.Ticks {
			out[key] = a.Name
		}
	}
	return out
}

// advanceWithActions moves a request of an SOP with infra actions along:
// it queues every action whose prerequisites are complete, then sets the
// state its checklist and actions imply, finishing the request once every
// section and every action is complete.
func (e *Engine) advanceWithActions(t *txn, req *store.Request, s *sop.SOP, p progress) error {
	switch req.State {
	case StateOpening, StateAwaitingReview, StateAwaitingApproval, StateInProgress:
	default:
		return nil
	}
	if req.IssueNumber == 0 {
		return nil
	}
	runs, err := e.DB.ActionRuns(t.ctx, t.tx, req.ID)
	if err != nil {
		return err
	}
	if err := e.queueReadyActions(t, req, s, p, runs); err != nil {
		return err
	}
	switch {
	case !p.reviewsDone:
		return e.setState(t, req, StateAwaitingReview, "")
	case !p.approvalDone:
		return e.setState(t, req, StateAwaitingApproval, "")
	}
	if req.State == StateAwaitingApproval && s.Binding.Approval != nil {
		signers, err := e.signerSummary(t, *req)
		if err != nil {
			return err
		}
		if err := e.comment(t, *req, fmt.Sprintf("Every gate is complete (%s). The bot's actions start now.", signers)); err != nil {
			return err
		}
	}
	if err := e.setState(t, req, StateInProgress, "approved"); err != nil {
		return err
	}
	if !p.allDone || !s.Binding.CloseWhenDone {
		return nil
	}
	for _, a := range s.Binding.Actions {
		if runs[a.Name].State != store.RunSucceeded {
			return nil
		}
	}
	return e.finish(t, req, StateDone, "every step and action is complete", BotActor)
}

// queueReadyActions queues each action that has not run yet and whose
// prerequisites are complete.
func (e *Engine) queueReadyActions(t *txn, req *store.Request, s *sop.SOP, p progress, runs map[string]store.ActionRun) error {
	for _, rule := range s.Binding.Actions {
		if _, queued := runs[rule.Name]; queued || !actionReady(rule, p, runs) {
			continue
		}
		target := s.RenderTemplate(rule.Target, req.Params)
		added, err := e.DB.QueueActionRun(t.ctx, t.tx, req.ID, rule.Name, target)
		if err != nil || !added {
			return err
		}
		run, err := e.DB.ActionRun(t.ctx, t.tx, req.ID, rule.Name)
		if err != nil {
			return err
		}
		runs[rule.Name] = run
		if err := e.audit(t, req.ID, BotActor, "action queued", map[string]string{"action": rule.Name, "target": target}); err != nil {
			return err
		}
		if err := e.enqueue(t, InfraArgs{RequestID: req.ID, Action: rule.Name, Queued: run.QueuedAt.String()}); err != nil {
			return err
		}
	}
	return nil
}

// actionReady reports whether everything an action waits for is complete:
// each named action succeeded, each named section is complete and each
// named item is ticked. "open" always holds, because advanceWithActions
// runs only once the issue is open.
func actionReady(rule sop.ActionRule, p progress, runs map[string]store.ActionRun) bool {
	for _, after := range rule.After {
		if after == sop.AfterOpen {
			continue
		}
		if run, isAction := runs[after]; isAction {
			if run.State != store.RunSucceeded {
				return false
			}
			continue
		}
		if !p.done[after] && !p.items[after].Checked {
			return false
		}
	}
	return true
}

func (e *Engine) handleInfraFinished(t *txn, ev InfraFinished) error {
	req, err := e.DB.GetRequest(t.ctx, t.tx, ev.RequestID)
	if err != nil {
		return err
	}
	run, err := e.DB.ActionRun(t.ctx, t.tx, req.ID, ev.Action)
	if err != nil {
		return err
	}
	if run.State != store.RunRunning {
		return nil // a retried job already recorded it
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	rule, _ := actionRule(s, ev.Action)
	if err := e.DB.ReleaseTarget(t.ctx, t.tx, run.Target, req.ID, ev.Action); err != nil {
		return err
	}
	if ev.Progress != "" {
		if err := e.DB.SaveActionProgress(t.ctx, t.tx, req.ID, ev.Action, ev.Progress); err != nil {
			return err
		}
	}
	if !ev.Succeeded {
		return e.actionFailed(t, &req, s, ev)
	}
	if err := e.DB.FinishActionRun(t.ctx, t.tx, req.ID, ev.Action, store.RunSucceeded, ev.Result, ""); err != nil {
		return err
	}
	if err := e.audit(t, req.ID, BotActor, "action succeeded", map[string]any{"action": ev.Action, "target": run.Target, "result": rawJSON(ev.Result)}); err != nil {
		return err
	}
	if _, isStop := stopActions[ev.Action]; isStop {
		if err := e.endStoppedAction(t, req, ev.Action); err != nil {
			return err
		}
		return e.comment(t, req, "✅ "+ev.Summary)
	}
	if req.Terminal() {
		return nil
	}
	ticks := ev.Ticks
	if ticks == nil {
		ticks = rule.Ticks
	}
	if err := e.tickAsBot(t, req, rule, ticks, "`"+ev.Action+"` succeeded"); err != nil {
		return err
	}
	if err := e.releaseUnticked(t, req, rule, ticks); err != nil {
		return err
	}
	if err := e.comment(t, req, "✅ "+ev.Summary); err != nil {
		return err
	}
	if err := e.afterRetrainAction(t, &req, s, ev); err != nil {
		return err
	}
	return e.advance(t, &req, s)
}

func (e *Engine) actionFailed(t *txn, req *store.Request, s *sop.SOP, ev InfraFinished) error {
	if err := e.DB.FinishActionRun(t.ctx, t.tx, req.ID, ev.Action, store.RunFailed, ev.Result, ev.Error); err != nil {
		return err
	}
	if err := e.audit(t, req.ID, BotActor, "action failed", map[string]any{"action": ev.Action, "error": ev.Error, "result": rawJSON(ev.Result)}); err != nil {
		return err
	}
	_, isStop := stopActions[ev.Action]
	if isStop {
		if err := e.endStoppedAction(t, *req, ev.Action); err != nil {
			return err
		}
	}
	if req.Terminal() && !isStop {
		return nil
	}
	text := fmt.Sprintf("❌ `%s` failed: %s\n", ev.Action, ev.Error)
	if ev.Summary != "" {
		text += "\n" + ev.Summary + "\n"
	}
	if isStop {
		text += fmt.Sprintf("\nFix the cause, then `/mlops retry %s` runs it again; it reads the current state first, so it repeats no call that took effect.", req.Label())
	} else {
		text += fmt.Sprintf("\nIts step stays unticked. Fix the cause, then `/mlops retry %s` runs it again; it picks up the work it already did.", req.Label())
	}
	if err := e.comment(t, *req, text); err != nil {
		return err
	}
	return e.notify(t, fmt.Sprintf("%s: `%s` failed for %s %s: %s", s.RenderTitle(req.Params), ev.Action, req.Label(), req.IssueURL, ev.Error))
}

// tickAsBot ticks the given items of an action's rule as the bot.
func (e *Engine) tickAsBot(t *txn, req store.Request, rule sop.ActionRule, keys []string, evidence string) error {
	allowed := map[string]bool{}
	for _, key := range rule.Ticks {
		allowed[key] = true
	}
	items, err := e.DB.Items(t.ctx, t.tx, req.ID)
	if err != nil {
		return err
	}
	var changed []string
	for _, key := range keys {
		if !allowed[key] || items[key].Checked {
			continue
		}
		item := store.Item{RequestID: req.ID, Key: key, Checked: true, ByLogin: BotActor, ByMember: "bot", Evidence: evidence, DeliveryID: t.deliveryID}
		if err := e.DB.SetItem(t.ctx, t.tx, item); err != nil {
			return err
		}
		changed = append(changed, key)
	}
	if len(changed) == 0 {
		return nil
	}
	sort.Strings(changed)
	return e.enqueue(t, SyncItemsArgs{RequestID: req.ID, Keys: changed})
}

// releaseUnticked hands the items of an action's rule that its result did
// not tick, such as a smoke test with no smoke check configured, to the
// people the section names, as a check that cannot decide does.
func (e *Engine) releaseUnticked(t *txn, req store.Request, rule sop.ActionRule, ticked []string) error {
	done := map[string]bool{}
	for _, key := range ticked {
		done[key] = true
	}
	for _, key := range rule.Ticks {
		if done[key] {
			continue
		}
		if err := e.DB.SetCheckState(t.ctx, t.tx, req.ID, key, CheckNotApplicable); err != nil {
			return err
		}
	}
	return nil
}

// retryActions requeues a request's failed actions. Once the request has
// ended, only its failed stop actions run again.
func (e *Engine) retryActions(t *txn, c CommandIssued, req store.Request, s *sop.SOP) error {
	runs, err := e.DB.ActionRuns(t.ctx, t.tx, req.ID)
	if err != nil {
		return err
	}
	var failed []string
	if req.Terminal() {
		for _, name := range sortedKeys(stopActions) {
			if runs[name].State == store.RunFailed {
				failed = append(failed, name)
			}
		}
		if len(failed) == 0 {
			return &UsageError{Problem: fmt.Sprintf("%s is %s; nothing runs for it any more.", req.Label(), req.State)}
		}
	} else {
		for _, rule := range s.Binding.Actions {
			if runs[rule.Name].State == store.RunFailed {
				failed = append(failed, rule.Name)
			}
		}
		if len(failed) == 0 {
			return &UsageError{Problem: fmt.Sprintf("%s has no failed action to retry; `/mlops status %s` lists its actions.", req.Label(), req.Label())}
		}
	}
	for _, name := range failed {
		if err := e.DB.RequeueActionRun(t.ctx, t.tx, req.ID, name); err != nil {
			return err
		}
		run, err := e.DB.ActionRun(t.ctx, t.tx, req.ID, name)
		if err != nil {
			return err
		}
		if _, isStop := stopActions[name]; isStop {
			// Like queueStopAction, take the stopped action's target if it
			// is free.
			if _, err := e.DB.AcquireTarget(t.ctx, t.tx, run.Target, req.ID, name); err != nil {
				return err
			}
		}
		if err := e.audit(t, req.ID, c.Actor.Login, "action retried", map[string]string{"action": name}); err != nil {
			return err
		}
		if err := e.enqueue(t, InfraArgs{RequestID: req.ID, Action: name, Queued: run.QueuedAt.String()}); err != nil {
			return err
		}
	}
	list := "`" + strings.Join(failed, "`, `") + "`"
	if err := e.comment(t, req, fmt.Sprintf("%s retried %s.", c.Actor.Mention(), list)); err != nil {
		return err
	}
	return e.reply(t, c.Origin, fmt.Sprintf("Retrying %s for %s.", list, req.Label()), true)
}

// actionLines lists a request's actions and their states for status
// replies: the binding's, then the stop actions that were queued.
func actionLines(s *sop.SOP, runs map[string]store.ActionRun) []string {
	var lines []string
	for _, rule := range s.Binding.Actions {
		run, ok := runs[rule.Name]
		if !ok {
			lines = append(lines, fmt.Sprintf("`%s`: waiting for %s", rule.Name, strings.Join(rule.After, ", ")))
			continue
		}
		lines = append(lines, actionLine(run))
	}
	for _, name := range sortedKeys(stopActions) {
		if run, ok := runs[name]; ok {
			lines = append(lines, actionLine(run))
		}
	}
	return lines
}

func actionLine(run store.ActionRun) string {
	if run.State == store.RunFailed {
		return fmt.Sprintf("`%s`: failed after %d attempts: %s", run.Action, run.Attempts, clip(run.Error, 200))
	}
	return fmt.Sprintf("`%s`: %s", run.Action, run.State)
}

// queueStopAction queues a stop action of a request that ended, with order
// as its first progress. It also takes target, the target of the action it
// stops, when that is free, so that no later request starts work there
// before this request's work is stopped. Queueing an action twice does
// nothing.
func (e *Engine) queueStopAction(t *txn, req store.Request, action, target string, order StopOrder) error {
	added, err := e.DB.QueueActionRun(t.ctx, t.tx, req.ID, action, target)
	if err != nil || !added {
		return err
	}
	progress, err := json.Marshal(order)
	if err != nil {
		return err
	}
	if err := e.DB.SaveActionProgress(t.ctx, t.tx, req.ID, action, string(progress)); err != nil {
		return err
	}
	if _, err := e.DB.AcquireTarget(t.ctx, t.tx, target, req.ID, action); err != nil {
		return err
	}
	run, err := e.DB.ActionRun(t.ctx, t.tx, req.ID, action)
	if err != nil {
		return err
	}
	if err := e.audit(t, req.ID, BotActor, "action queued", map[string]string{"action": action, "target": target, "stops": stopActions[action]}); err != nil {
		return err
	}
	return e.enqueue(t, InfraArgs{RequestID: req.ID, Action: action, Queued: run.QueuedAt.String()})
}

// endStoppedAction records that the action a stop action stops has ended
// with its request, if its run is still queued or running. Its job left
// nothing more to record, because the stop action ran only once no job of
// it was left.
func (e *Engine) endStoppedAction(t *txn, req store.Request, stopAction string) error {
	stopped := stopActions[stopAction]
	run, err := e.DB.ActionRun(t.ctx, t.tx, req.ID, stopped)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || (run.State != store.RunQueued && run.State != store.RunRunning) {
		return err
	}
	reason := fmt.Sprintf("stopped because %s was %s; `%s` records what became of its work", req.Label(), req.State, stopAction)
	if err := e.DB.FinishActionRun(t.ctx, t.tx, req.ID, stopped, store.RunFailed, run.Result, reason); err != nil {
		return err
	}
	return e.audit(t, req.ID, BotActor, "action stopped", map[string]string{"action": stopped, "by": stopAction, "request_state": req.State})
}

// rawJSON embeds a stored JSON result in an audit row as JSON, not as a
// quoted string.
func rawJSON(s string) any {
	if s == "" || !json.Valid([]byte(s)) {
		return s
	}
	return json.RawMessage(s)
}
