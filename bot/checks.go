package bot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// Names of the checks an SOP binding can give an item.
const (
	CheckMLflowVersionStage = "mlflow-version-stage"
	// CheckMLflowMetrics compares the candidate's run metrics with the
	// production version's and the configured thresholds.
	CheckMLflowMetrics = "mlflow-metrics-baseline"
	// CheckArtifactScan scans the version's artifacts for pickle exploits
	// and embedded secrets.
	CheckArtifactScan = "artifact-scan"
	// CheckPRParity follows the configured check on the linked pull
	// request's head; check run and commit status events drive it.
	CheckPRParity = "pr-check-parity"
)

// Outcomes of a check, stored per item.
const (
	CheckPassed        = "passed"
	CheckFailed        = "failed"
	CheckNotApplicable = "not-applicable"
)

// jobChecks are the checks a worker runs when the issue opens.
var jobChecks = map[string]bool{CheckMLflowVersionStage: true, CheckMLflowMetrics: true, CheckArtifactScan: true}

func (e *Engine) handleCheckFinished(t *txn, ev CheckFinished) error {
	req, err := e.DB.GetRequest(t.ctx, t.tx, ev.RequestID)
	if err != nil {
		return err
	}
	if req.Terminal() || (ev.Params != "" && ev.Params != req.ParamsKey()) {
		return nil // finished, or a result for parameters that changed since
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	state := CheckFailed
	switch {
	case ev.Passed:
		state = CheckPassed
	case ev.NotApplicable:
		state = CheckNotApplicable
	}
	return e.applyCheck(t, &req, s, ev.Key, state, ev.Evidence, ev.Report)
}

// applyCheck records a check's outcome for one item: a pass ticks it as
// the bot, a failure unticks a tick the bot made, and "not applicable"
// hands the item to people.
func (e *Engine) applyCheck(t *txn, req *store.Request, s *sop.SOP, key, state, evidence, report string) error {
	items, err := e.DB.Items(t.ctx, t.tx, req.ID)
	if err != nil {
		return err
	}
	stored := items[key]
	if err := e.DB.SetCheckState(t.ctx, t.tx, req.ID, key, state); err != nil {
		return err
	}
	if err := e.audit(t, req.ID, BotActor, "check finished", map[string]any{"item": key, "state": state, "evidence": evidence}); err != nil {
		return err
	}

	var text string
	switch state {
	case CheckPassed:
		text = fmt.Sprintf("✅ sopbot checked `%s`: %s", key, evidence)
		if !stored.Checked {
			item := store.Item{RequestID: req.ID, Key: key, Checked: true, ByLogin: BotActor, ByMember: "bot", Evidence: evidence, DeliveryID: t.deliveryID}
			if err := e.setItemAndSync(t, item); err != nil {
				return err
			}
		}
	case CheckNotApplicable:
		text = fmt.Sprintf("ℹ️ sopbot cannot check `%s` itself: %s It is left to the people the section names.", key, evidence)
	default:
		text = fmt.Sprintf("❌ Check for `%s` failed: %s\nThe box stays unticked until the check passes.", key, evidence)
		if stored.Checked && stored.ByLogin == BotActor {
			if err := e.setItemAndSync(t, store.Item{RequestID: req.ID, Key: key, DeliveryID: t.deliveryID}); err != nil {
				return err
			}
		}
	}
	if report != "" {
		text += "\n\n" + report
	}
	if err := e.comment(t, *req, text); err != nil {
		return err
	}
	if err := e.refreshRevision(t, req, s, fmt.Sprintf("the check for `%s` now reports %s", key, state)); err != nil {
		return err
	}
	return e.advance(t, req, s)
}

func (e *Engine) setItemAndSync(t *txn, item store.Item) error {
	if err := e.DB.SetItem(t.ctx, t.tx, item); err != nil {
		return err
	}
	return e.enqueue(t, SyncItemsArgs{RequestID: item.RequestID, Keys: []string{item.Key}})
}

// startChecks enqueues the checks the bot runs when a request's issue
// opens. The parity check waits for events, or is handed to people at once
// when no check name is configured.
func (e *Engine) startChecks(t *txn, req *store.Request, s *sop.SOP) error {
	for _, key := range sortedKeys(s.Binding.Checks) {
		check := s.Binding.Checks[key]
		switch {
		case jobChecks[check]:
			if err := e.enqueue(t, CheckArgs{RequestID: req.ID, Key: key, Check: check, Params: req.ParamsKey()}); err != nil {
				return err
			}
		case check == CheckPRParity && e.Settings.ParityCheck == "":
			if err := e.applyCheck(t, req, s, key, CheckNotApplicable, "no parity check is configured (evidence.parityCheck).", ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// parityKeys returns the items that follow the parity check.
func parityKeys(s *sop.SOP) []string {
	var keys []string
	for _, key := range sortedKeys(s.Binding.Checks) {
		if s.Binding.Checks[key] == CheckPRParity {
			keys = append(keys, key)
		}
	}
	return keys
}

func (e *Engine) handleCheckReported(t *txn, ev CheckReported) error {
	if e.Settings.ParityCheck == "" || ev.Name != e.Settings.ParityCheck {
		return nil
	}
	prs := ev.PRs
	if len(prs) == 0 && ev.HeadSHA != "" {
		var err error
		if prs, err = e.DB.PullRequestsByHead(t.ctx, t.tx, ev.HeadSHA); err != nil {
			return err
		}
	}
	for _, pr := range prs {
		if err := e.reportParity(t, pr, ev); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) reportParity(t *txn, pr int, ev CheckReported) error {
	id, head, err := e.DB.PullRequestLink(t.ctx, t.tx, pr)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if head != "" && ev.HeadSHA != head {
		return nil // a result for a commit that is no longer the head
	}
	req, err := e.DB.GetRequest(t.ctx, t.tx, id)
	if err != nil || req.Terminal() {
		return err
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	state := CheckFailed
	if ev.Conclusion == "success" {
		state = CheckPassed
	}
	evidence := fmt.Sprintf("`%s` reported **%s** on #%d at %s", ev.Name, ev.Conclusion, pr, shortSHA(ev.HeadSHA))
	if ev.URL != "" {
		evidence += fmt.Sprintf(" ([details](%s))", ev.URL)
	}
	for _, key := range parityKeys(s) {
		if err := e.applyCheck(t, &req, s, key, state, evidence+".", ""); err != nil {
			return err
		}
	}
	return nil
}

// resetParity unticks the parity items the bot ticked, because a new head
// commit must pass the check again.
func (e *Engine) resetParity(t *txn, req *store.Request, s *sop.SOP, pr int, head string) error {
	items, err := e.DB.Items(t.ctx, t.tx, req.ID)
	if err != nil {
		return err
	}
	for _, key := range parityKeys(s) {
		if st := items[key]; st.Checked && st.ByLogin == BotActor {
			if err := e.setItemAndSync(t, store.Item{RequestID: req.ID, Key: key, DeliveryID: t.deliveryID}); err != nil {
				return err
			}
			if err := e.DB.SetCheckState(t.ctx, t.tx, req.ID, key, ""); err != nil {
				return err
			}
			if err := e.comment(t, *req, fmt.Sprintf("New commits on #%d (head %s): `%s` must pass again before `%s` is ticked.", pr, shortSHA(head), e.Settings.ParityCheck, key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// knownChecks and knownActions are the names a binding may use.
var (
	knownChecks  = map[string]bool{CheckMLflowVersionStage: true, CheckMLflowMetrics: true, CheckArtifactScan: true, CheckPRParity: true, CheckPromotion: true}
	knownActions = map[string]bool{ActionMLflowPromote: true}
)

// ValidateLibrary reports every check or action a library's bindings name
// that this bot does not run.
func ValidateLibrary(lib *sop.Library) error {
	var problems []error
	for _, s := range lib.SOPs() {
		problems = append(problems, ValidateLibraryFile(s))
	}
	return errors.Join(problems...)
}

// ValidateLibraryFile reports every check or action one SOP's binding
// names that this bot does not run.
func ValidateLibraryFile(s *sop.SOP) error {
	if s.Binding == nil {
		return nil
	}
	var problems []error
	for _, key := range sortedKeys(s.Binding.Checks) {
		if name := s.Binding.Checks[key]; !knownChecks[name] {
			problems = append(problems, fmt.Errorf("%s: item %s names unknown check %q; use one of %s", s.ID, key, name, strings.Join(sortedKeys(knownChecks), ", ")))
		}
	}
	if a := s.Binding.OnApproved; a != "" && !knownActions[a] {
		problems = append(problems, fmt.Errorf("%s: onApproved names unknown action %q; use one of %s", s.ID, a, strings.Join(sortedKeys(knownActions), ", ")))
	}
	for _, rule := range s.Binding.Actions {
		if !knownInfraActions[rule.Name] {
			problems = append(problems, fmt.Errorf("%s: actions names unknown action %q; use one of %s", s.ID, rule.Name, strings.Join(sortedKeys(knownInfraActions), ", ")))
		}
	}
	return errors.Join(problems...)
}
