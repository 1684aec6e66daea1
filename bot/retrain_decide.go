package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// CheckPromotion follows the SOP-02 request that promotes a retraining's
// candidate: it passes when that request is done and fails when it is
// rejected or cancelled. The promotion request's end drives it.
const CheckPromotion = "sop02-promotion"

// VerbPromote promotes a retraining request's candidate: it opens the
// SOP-02 request for the version that model-compare found.
const VerbPromote = "promote"

// promoteHelp is the help line of `promote <request>`.
const promoteHelp = "promote a retraining request's candidate: opens its SOP-02 promotion request once the review is complete"

// parsePromote parses "promote <request>". Any other line that starts with
// "promote" is an SOP command, such as "promote model <model> <version>":
// a request reference is never a word of one.
func (g *Grammar) parsePromote(tokens []string) (Command, error) {
	if len(tokens) == 2 {
		if ref, err := ParseRequestRef(tokens[1]); err == nil {
			return Command{Verb: VerbPromote, Ref: ref}, nil
		}
	}
	return g.parseSOPCommand(tokens)
}

// isRetraining reports whether s compares a retrained model, so its
// requests take the promote and reject decisions.
func isRetraining(s *sop.SOP) bool {
	_, ok := actionRule(s, ActionModelCompare)
	return ok
}

// reviewSection returns the section in which people review the
// retraining results: the first section after the ones model-compare
// ticks whose items people tick.
func reviewSection(s *sop.SOP) (sop.Section, bool) {
	rule, ok := actionRule(s, ActionModelCompare)
	if !ok {
		return sop.Section{}, false
	}
	compared := false
	for _, sec := range s.Sections() {
		if !compared {
			for _, item := range sec.Items {
				compared = compared || containsString(rule.Ticks, item.Key)
			}
			continue
		}
		if members, _, botOnly, _ := s.TickMembers(sec); len(sec.Items) > 0 && !botOnly && len(members) > 0 {
			return sec, true
		}
	}
	return sop.Section{}, false
}

// decisionMembers lists who may promote or reject a retraining: the role
// members who tick the review, and the members of the Approver role.
func decisionMembers(s *sop.SOP) []string {
	var members []string
	if sec, ok := reviewSection(s); ok {
		members, _, _, _ = s.TickMembers(sec)
	}
	if approver, ok := s.Role("Approver"); ok {
		for _, m := range approver.Members {
			if !containsString(members, m) {
				members = append(members, m)
			}
		}
	}
	return members
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// mayDecide returns why the actor cannot decide on a retraining request
// now, or "".
func (e *Engine) mayDecide(req store.Request, s *sop.SOP, actor Actor, verb string) string {
	members := decisionMembers(s)
	switch {
	case req.Terminal():
		return fmt.Sprintf("%s is already %s.", req.Label(), req.State)
	case isRequester(req, actor):
		return "you opened this request, and a requester never decides on their own request."
	case !holdsAny(actor, members):
		return fmt.Sprintf("only a reviewer or an approver can %s a retraining. %s", verb, whoMayTick(e.Directory, members, false))
	}
	return ""
}

// comparisonOf returns the result of a retraining request's model-compare,
// and false until it has succeeded.
func (e *Engine) comparisonOf(t *txn, req store.Request) (ModelComparison, store.ActionRun, bool, error) {
	var cmp ModelComparison
	run, err := e.DB.ActionRun(t.ctx, t.tx, req.ID, ActionModelCompare)
	if errors.Is(err, store.ErrNotFound) {
		return cmp, run, false, nil
	}
	if err != nil || run.State != store.RunSucceeded {
		return cmp, run, false, err
	}
	if err := json.Unmarshal([]byte(run.Result), &cmp); err != nil {
		return cmp, run, false, fmt.Errorf("decoding the model-compare result of request %d: %w", req.ID, err)
	}
	return cmp, run, cmp.Candidate != "", nil
}

// promoteCommand opens the SOP-02 request for a retraining's candidate,
// once its review is complete, as the reviewer's decision.
func (e *Engine) promoteCommand(t *txn, c CommandIssued, cmd Command) error {
	if c.Actor.Login == "" {
		return &UsageError{Problem: "Your Slack account is not paired with a GitHub login, so sopbot cannot record you as the requester of the promotion. Ask an administrator to add you under `people` in the sopbot config."}
	}
	req, s, cmp, err := e.promotable(t, c, cmd)
	if err != nil {
		return err
	}

	origin := c.Origin
	origin.Note = fmt.Sprintf("This promotion comes from the retraining request [%s](%s) of `%s`: %s decided to promote candidate v%s after the review there.",
		req.Label(), req.IssueURL, cmp.Model, c.Actor.Mention(), cmp.Candidate)
	promo, created, err := e.openPromotion(t, req, s, cmp, c.Actor, origin, "review decision")
	if err != nil {
		return err
	}
	if !created {
		return e.reply(t, c.Origin, fmt.Sprintf("%s already promotes %s v%s to %s for %s (state: %s).",
			promo.Label(), cmp.Model, cmp.Candidate, cmp.To, req.Label(), promo.State), true)
	}

	text := fmt.Sprintf("%s decided to promote %s v%s to %s: opened %s, the SOP-02 promotion request, with its own reviews and approvals. "+
		"This request ticks \"Promoted through SOP-02\" when %s is done.", c.Actor.Mention(), cmp.Model, cmp.Candidate, cmp.To, promo.Label(), promo.Label())
	if err := e.comment(t, req, text); err != nil {
		return err
	}
	return e.reply(t, c.Origin, fmt.Sprintf("Opened %s to promote %s v%s to %s, from %s.", promo.Label(), cmp.Model, cmp.Candidate, cmp.To, req.Label()), true)
}

// promotable returns the retraining request that a promote command names
// with its comparison, or a UsageError that says why it cannot be
// promoted now.
func (e *Engine) promotable(t *txn, c CommandIssued, cmd Command) (store.Request, *sop.SOP, ModelComparison, error) {
	var cmp ModelComparison
	req, err := e.findRequest(t, cmd.Ref)
	if err != nil {
		return req, nil, cmp, err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return req, s, cmp, err
	}
	if !isRetraining(s) {
		return req, s, cmp, &UsageError{Problem: fmt.Sprintf("%s is a %s request, not a retraining, and `promote <request>` promotes a retraining's candidate. To promote a version directly: `%s promote model <model> <version>`.",
			req.Label(), req.SOPID, Prefix), Usage: builtinUsage[VerbPromote]}
	}
	if reason := e.mayDecide(req, s, c.Actor, "promote"); reason != "" {
		return req, s, cmp, &UsageError{Problem: "Not promoted: " + reason}
	}

	cmp, run, ready, err := e.comparisonOf(t, req)
	if err != nil {
		return req, s, cmp, err
	}
	if !ready {
		state := "not started"
		if run.State != "" {
			state = run.State
		}
		return req, s, cmp, &UsageError{Problem: fmt.Sprintf("Not promoted: %s has no candidate yet, because `%s` is %s. `/mlops status %s` shows its actions.",
			req.Label(), ActionModelCompare, state, req.Label())}
	}

	sec, ok := reviewSection(s)
	if !ok {
		return req, s, cmp, nil
	}
	p, err := e.progressOf(t, req, s)
	if err != nil {
		return req, s, cmp, err
	}
	if !p.done[sec.Key] {
		return req, s, cmp, &UsageError{Problem: fmt.Sprintf("Not promoted: the review in %s is not complete: %s. Tick it on %s first.",
			sec.Title, p.missing[sec.Key], linkOrPending(req))}
	}
	return req, s, cmp, nil
}

// openPromotion opens the SOP-02 request that promotes a retraining's
// candidate, queued behind any request that holds its target. When a
// request with the same parameters is open or queued already, it returns
// that one with created false.
func (e *Engine) openPromotion(t *txn, retrain store.Request, s *sop.SOP, cmp ModelComparison, requester Actor, origin store.Origin, via string) (store.Request, bool, error) {
	promotion, ok := e.promotionSOP()
	if !ok {
		return store.Request{}, false, errors.New("the SOP library has no promotion SOP (one whose onApproved is mlflow-promote)")
	}
	params, err := ValidateParams(promotion, map[string]string{"model": cmp.Model, "version": cmp.Candidate, "to": cmp.To})
	if err != nil {
		return store.Request{}, false, fmt.Errorf("promotion of %s v%s: %w", cmp.Model, cmp.Candidate, err)
	}
	target := fillTemplate(promotion.Binding.Target, params)
	active, err := e.DB.ActiveRequestsForTarget(t.ctx, t.tx, target)
	if err != nil {
		return store.Request{}, false, err
	}

	req := store.Request{
		SOPID: promotion.ID, SOPRevision: promotion.Revision, SOPSource: string(promotion.File), Target: target, State: StateOpening,
		Params: params, RequesterLogin: requester.Login, RequesterSlack: requester.Slack, Origin: origin,
	}
	for _, other := range active {
		if sameParams(other.Params, params) {
			return other, false, nil
		}
		if other.State != StateQueued {
			req.State, req.QueuedBehind = StateQueued, other.ID
		}
	}

	detail := map[string]any{"sop": promotion.ID, "revision": promotion.Revision, "params": params, "via": via,
		"retraining": fmt.Sprintf("R-%d", retrain.ID)}
	req, err = e.insertRequest(t, promotion, req, requester.Login, detail)
	if err != nil {
		return req, false, err
	}
	e.Log.Info("promotion opened from retraining", "request_id", req.ID, "retraining_request_id", retrain.ID, "model", cmp.Model, "version", cmp.Candidate)
	err = e.audit(t, retrain.ID, requester.Login, "promotion opened", map[string]string{
		"promotion": fmt.Sprintf("R-%d", req.ID), "model": cmp.Model, "version": cmp.Candidate, "to": cmp.To, "via": via})
	return req, true, err
}

// promotionSOP returns the library's promotion SOP: the one whose
// approval runs mlflow-promote.
func (e *Engine) promotionSOP() (*sop.SOP, bool) {
	for _, s := range e.Library.SOPs() {
		if s.Binding != nil && s.Binding.OnApproved == ActionMLflowPromote {
			return s, true
		}
	}
	return nil, false
}

// retrainingOf finds the open retraining request whose candidate a
// promotion request promotes: same model, version and target.
func (e *Engine) retrainingOf(t *txn, promo store.Request) (store.Request, *sop.SOP, ModelComparison, bool, error) {
	ps, err := e.sopOf(promo)
	if err != nil || ps.Binding.OnApproved != ActionMLflowPromote {
		return store.Request{}, nil, ModelComparison{}, false, err
	}
	model := promo.Params["model"]
	for _, s := range e.Library.SOPs() {
		if s.Binding == nil || !isRetraining(s) {
			continue
		}
		target := fillTemplate(s.Binding.Target, map[string]string{"model": model})
		req, err := e.DB.OpenRequestByTarget(t.ctx, t.tx, target)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return req, nil, ModelComparison{}, false, err
		}
		rs, err := e.sopOf(req)
		if err != nil {
			return req, nil, ModelComparison{}, false, err
		}
		cmp, _, ready, err := e.comparisonOf(t, req)
		if err != nil || !ready {
			return req, rs, cmp, false, err
		}
		if cmp.Model == model && cmp.Candidate == promo.Params["version"] && cmp.To == promo.Params["to"] {
			return req, rs, cmp, true, nil
		}
	}
	return store.Request{}, nil, ModelComparison{}, false, nil
}

// promotionIssueOpened links a promotion's new issue from the retraining
// request it promotes.
func (e *Engine) promotionIssueOpened(t *txn, promo store.Request) error {
	retrain, _, cmp, ok, err := e.retrainingOf(t, promo)
	if err != nil || !ok {
		return err
	}
	return e.comment(t, retrain, fmt.Sprintf("The promotion of %s v%s to %s is open: %s %s.", cmp.Model, cmp.Candidate, cmp.To, promo.Label(), promo.IssueURL))
}

// promotionEnded reports a promotion request's end to the retraining
// request it promotes, through that request's promotion check. Done
// passes the check, so the reference update can run. Rejected or
// cancelled fails it, so the reviewers decide again.
func (e *Engine) promotionEnded(t *txn, promo store.Request) error {
	if !promo.Terminal() {
		return nil
	}
	retrain, s, cmp, ok, err := e.retrainingOf(t, promo)
	if err != nil || !ok {
		return err
	}
	key := promotionCheckKey(s)
	if key == "" {
		return nil
	}
	link := promo.Label()
	if promo.IssueURL != "" {
		link = fmt.Sprintf("[%s](%s)", promo.Label(), promo.IssueURL)
	}
	state, evidence := CheckPassed, fmt.Sprintf("%s promoted `%s` v%s to %s through %s.", link, cmp.Model, cmp.Candidate, cmp.To, promo.SOPID)
	if promo.State != StateDone {
		state = CheckFailed
		evidence = fmt.Sprintf("%s ended %s (%s), so v%s is not promoted. Decide again: `/mlops promote %s` or `/mlops reject %s <reason>`.",
			link, promo.State, promo.Reason, cmp.Candidate, retrain.Label(), retrain.Label())
	}
	return e.applyCheck(t, &retrain, s, key, state, evidence, "")
}

// promotionCheckKey returns the item that the promotion check ticks.
func promotionCheckKey(s *sop.SOP) string {
	for _, key := range sortedKeys(s.Binding.Checks) {
		if s.Binding.Checks[key] == CheckPromotion {
			return key
		}
	}
	return ""
}

// rejectRequest rejects a request: a retraining by its reviewers, any
// other request by its approvers.
func (e *Engine) rejectRequest(t *txn, c CommandIssued, cmd Command) error {
	req, err := e.findRequest(t, cmd.Ref)
	if err != nil {
		return err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	if !isRetraining(s) {
		return e.rejectCommand(t, c, cmd)
	}
	if reason := e.mayDecide(req, s, c.Actor, "reject"); reason != "" {
		return &UsageError{Problem: "Not rejected: " + reason}
	}
	promo, ok, err := e.openPromotionOf(t, req)
	if err != nil {
		return err
	}
	if ok {
		return &UsageError{Problem: fmt.Sprintf("Not rejected: %s promotes this candidate and is %s. Reject or cancel %s first.", promo.Label(), promo.State, promo.Label())}
	}

	if err := e.audit(t, req.ID, c.Actor.Login, "rejected", map[string]string{"reason": cmd.Reason, "via": "command"}); err != nil {
		return err
	}
	text := fmt.Sprintf("rejected in the review by %s: %s. The retrained version is not promoted", c.Actor.Mention(), cmd.Reason)
	stop, err := e.pipelineStopOf(t, req)
	if err != nil {
		return err
	}
	if err := e.finish(t, &req, StateRejected, text+stop.reasonSuffix(), c.Actor.Login); err != nil {
		return err
	}
	order := StopOrder{By: c.Actor.Login, Reason: cmd.Reason, RequestState: StateRejected}
	if err := e.queuePipelineStop(t, req, stop, order); err != nil {
		return err
	}
	reply := fmt.Sprintf("Rejected %s: %s", req.Label(), cmd.Reason)
	if stop.needed {
		reply += fmt.Sprintf(". sopbot terminates the retraining's Kubeflow Pipelines run and reports on %s when it has stopped.", req.Label())
	}
	return e.reply(t, c.Origin, reply, true)
}

// openPromotionOf returns the active promotion request of a retraining's
// candidate, if there is one.
func (e *Engine) openPromotionOf(t *txn, retrain store.Request) (store.Request, bool, error) {
	cmp, _, ready, err := e.comparisonOf(t, retrain)
	if err != nil || !ready {
		return store.Request{}, false, err
	}
	promotion, ok := e.promotionSOP()
	if !ok {
		return store.Request{}, false, nil
	}
	params, err := ValidateParams(promotion, map[string]string{"model": cmp.Model, "version": cmp.Candidate, "to": cmp.To})
	if err != nil {
		return store.Request{}, false, nil
	}
	active, err := e.DB.ActiveRequestsForTarget(t.ctx, t.tx, fillTemplate(promotion.Binding.Target, params))
	if err != nil {
		return store.Request{}, false, err
	}
	for _, other := range active {
		if sameParams(other.Params, params) {
			return other, true, nil
		}
	}
	return store.Request{}, false, nil
}

// driftRecordResult is the part of drift-record's result the engine reads.
type driftRecordResult struct {
	Trigger string `json:"trigger"`
}

// afterRetrainAction acts on the end of a retraining action. After
// drift-record it notifies the channel that the request is open. After
// model-compare it opens the promotion itself when the result allows an
// automatic promotion, and otherwise asks the channel for the review.
func (e *Engine) afterRetrainAction(t *txn, req *store.Request, s *sop.SOP, ev InfraFinished) error {
	if !isRetraining(s) || req.Terminal() {
		return nil
	}
	title := s.RenderTitle(req.Params)
	switch ev.Action {
	case ActionDriftRecord:
		var result driftRecordResult
		_ = json.Unmarshal([]byte(ev.Result), &result)
		return e.notify(t, fmt.Sprintf("%s: retraining request %s %s is open (%s). The retraining pipeline starts now.",
			title, req.Label(), req.IssueURL, strings.TrimSuffix(result.Trigger, ".")))
	case ActionModelCompare:
		var cmp ModelComparison
		if err := json.Unmarshal([]byte(ev.Result), &cmp); err != nil {
			return fmt.Errorf("decoding the model-compare result of request %d: %w", req.ID, err)
		}
		if !cmp.AutoPromote {
			return e.notify(t, fmt.Sprintf("%s: the retrained %s v%s is ready for review in %s %s.", title, cmp.Model, cmp.Candidate, req.Label(), req.IssueURL))
		}
		return e.autoPromote(t, req, s, cmp)
	}
	return nil
}

// autoPromote opens the promotion of a candidate without a reviewer.
func (e *Engine) autoPromote(t *txn, req *store.Request, s *sop.SOP, cmp ModelComparison) error {
	origin := store.Origin{Source: OriginSchedule, Note: fmt.Sprintf(
		"This promotion comes from the retraining request [%s](%s) of `%s`. Every metric of retraining.models.%s.minImprovement improved on production by its margin and autoPromote is on, so sopbot opened it without a reviewer's decision.",
		req.Label(), req.IssueURL, cmp.Model, cmp.Model)}
	promo, created, err := e.openPromotion(t, *req, s, cmp, Actor{Login: BotActor}, origin, "auto-promotion")
	if err != nil {
		return err
	}
	text := fmt.Sprintf("Every metric of `retraining.models.%s.minImprovement` improved on production by its margin and autoPromote is on, "+
		"so sopbot opened %s to promote v%s to %s without a reviewer's decision. %s runs SOP-02 with its own reviews and approvals.",
		cmp.Model, promo.Label(), cmp.Candidate, cmp.To, promo.Label())
	if !created {
		text = fmt.Sprintf("Every metric improved by its margin, and %s already promotes v%s to %s.", promo.Label(), cmp.Candidate, cmp.To)
	}
	if err := e.comment(t, *req, text); err != nil {
		return err
	}
	return e.notify(t, fmt.Sprintf("%s: the retrained %s v%s improved on production by every margin; %s promotes it to %s through SOP-02.",
		s.RenderTitle(req.Params), cmp.Model, cmp.Candidate, promo.Label(), cmp.To))
}
