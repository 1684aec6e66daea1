package bot

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// FeatureScore is one feature's drift scores in a detector report. A score
// the detector did not compute is nil.
type FeatureScore struct {
	Name        string   `json:"name"`
	KSStatistic *float64 `json:"ks_statistic,omitempty"`
	KSPValue    *float64 `json:"ks_pvalue,omitempty"`
	PSI         *float64 `json:"psi,omitempty"`
	KL          *float64 `json:"kl,omitempty"`
}

// DriftReport is one detector report on a model: the scores of each
// feature over the window of data the detector compared with the
// reference distribution.
type DriftReport struct {
	Model       string         `json:"model"`
	WindowStart time.Time      `json:"window_start"`
	WindowEnd   time.Time      `json:"window_end"`
	Features    []FeatureScore `json:"features"`
}

// RetrainPolicy decides what a drift report on one model means.
type RetrainPolicy struct {
	Thresholds config.DriftThresholds
	// Every is the retraining schedule. 0 retrains on drift only.
	Every time.Duration
	// SOP is the SOP a retraining opens, "SOP-03".
	SOP string
}

// RetrainPolicies returns the policy lookup of the configured retraining
// models. A model that retraining.models does not name has no policy.
func RetrainPolicies(cfg config.Config) func(model string) (RetrainPolicy, bool) {
	return func(model string) (RetrainPolicy, bool) {
		m, ok := cfg.Retraining.Models[model]
		if !ok {
			return RetrainPolicy{}, false
		}
		return RetrainPolicy{Thresholds: cfg.RetrainingThresholds(model), Every: m.Schedule(), SOP: retrainingSOP}, true
	}
}

// retrainingSOP is the SOP that drift reports open.
const retrainingSOP = "SOP-03"

// Outcomes of a drift report.
const (
	// DriftRequestOpened means the report opened a retraining request.
	DriftRequestOpened = "request-opened"
	// DriftReportAttached means a retraining request for the model was
	// open already, and the report was added to it.
	DriftReportAttached = "attached-to-open-request"
	// DriftNotDetected means no score crossed its threshold and no
	// scheduled retraining was due.
	DriftNotDetected = "no-drift"
)

// DriftDecision is the bot's decision on a drift report: its outcome and
// the request it opened or found.
type DriftDecision struct {
	Outcome string `json:"outcome"`
	Model   string `json:"model"`
	// Request is the retraining request's id, "R-7", when the report opened
	// one or was attached to one.
	Request  string `json:"request,omitempty"`
	IssueURL string `json:"issue_url,omitempty"`
	// Drifted lists the features that crossed a threshold.
	Drifted []string `json:"drifted_features"`
	// Reasons lists why each drifted feature drifted, and whether the
	// scheduled retraining was due.
	Reasons     []string `json:"reasons,omitempty"`
	ScheduleDue bool     `json:"schedule_due"`
	// Duplicate marks a report identical to one already recorded, which
	// changed nothing. The rest of the decision is the earlier one's.
	Duplicate bool   `json:"duplicate,omitempty"`
	Message   string `json:"message"`
}

// driftIntake is a drift outcome from a detector report or a scheduled
// check, ready for takeDrift.
type driftIntake struct {
	Model   string
	SOP     string
	Scores  []store.DriftScore
	Drifted bool
	// Due is set when the scheduled retraining date has passed.
	Due     bool
	Summary string   // one line for the audit trail and Slack
	Reasons []string // for the audit trail and the decision
	// Note is posted on a new request's issue once it opens.
	Note string
	Via  string // "drift report" or "drift check"
	// Window is the detector's data window, for the audit trail.
	Window map[string]string
}

// RecordDriftReport records a detector report in tx: its scores and, when
// a score crosses the policy's thresholds or the scheduled retraining is
// due, a retraining request opened by the bot, or a note on the model's
// open one. It makes no network calls, so the HTTP edge runs it before it
// responds. A report identical to an earlier one returns the earlier
// decision and changes nothing.
func (e *Engine) RecordDriftReport(ctx context.Context, tx *sql.Tx, r DriftReport, p RetrainPolicy) (DriftDecision, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return DriftDecision{}, fmt.Errorf("encoding drift report of %s: %w", r.Model, err)
	}
	sum := sha256.Sum256(payload)
	t := &txn{ctx: ctx, tx: tx, deliveryID: "drift:" + hex.EncodeToString(sum[:16])}
	fresh, err := e.DB.InsertDelivery(ctx, tx, store.Delivery{ID: t.deliveryID, Source: "drift", Event: "drift_report", Payload: payload})
	if err != nil {
		return DriftDecision{}, err
	}
	if !fresh {
		return e.earlierDecision(t)
	}

	in, err := e.evaluateReport(t, r, p)
	if err != nil {
		return DriftDecision{}, err
	}
	decision, err := e.takeDrift(t, in)
	if err != nil {
		return DriftDecision{}, err
	}
	outcome, err := json.Marshal(decision)
	if err != nil {
		return DriftDecision{}, err
	}
	return decision, e.DB.MarkProcessed(ctx, tx, t.deliveryID, string(outcome))
}

func (e *Engine) earlierDecision(t *txn) (DriftDecision, error) {
	d, err := e.DB.GetDelivery(t.ctx, t.tx, t.deliveryID)
	if err != nil {
		return DriftDecision{}, err
	}
	var decision DriftDecision
	if err := json.Unmarshal([]byte(d.Outcome), &decision); err != nil {
		return DriftDecision{}, fmt.Errorf("decoding the recorded outcome of %s: %w", d.ID, err)
	}
	decision.Duplicate = true
	decision.Message = "This report was recorded before, so nothing changed. " + decision.Message
	return decision, nil
}

// evaluateReport applies the policy to a report: which features drifted,
// and whether the scheduled retraining is due.
func (e *Engine) evaluateReport(t *txn, r DriftReport, p RetrainPolicy) (driftIntake, error) {
	in := driftIntake{Model: r.Model, SOP: p.SOP, Via: "drift report",
		Window: map[string]string{"start": r.WindowStart.UTC().Format(time.RFC3339), "end": r.WindowEnd.UTC().Format(time.RFC3339)}}
	var drifted []string
	for _, f := range r.Features {
		reasons := scoreReasons(f, p.Thresholds)
		in.Scores = append(in.Scores, store.DriftScore{Model: r.Model, Feature: f.Name, KS: f.KSStatistic, KSPValue: f.KSPValue,
			PSI: f.PSI, KL: f.KL, Drifted: len(reasons) > 0})
		if len(reasons) > 0 {
			drifted = append(drifted, f.Name)
			in.Reasons = append(in.Reasons, fmt.Sprintf("%s: %s", f.Name, strings.Join(reasons, ", ")))
		}
	}
	in.Drifted = len(drifted) > 0
	in.Summary = "no feature drifted"
	if in.Drifted {
		in.Summary = fmt.Sprintf("%d of %d feature(s) drifted: %s", len(drifted), len(r.Features), strings.Join(drifted, ", "))
	}
	if p.Every > 0 {
		due, why, err := e.retrainingDue(t, p, r.Model)
		if err != nil {
			return in, err
		}
		if due {
			in.Due = true
			in.Reasons = append(in.Reasons, why)
			in.Summary += "; " + why
		}
	}
	in.Note = reportNote(r, p.Thresholds, in)
	return in, nil
}

// scoreReasons lists the thresholds a feature's scores cross.
func scoreReasons(f FeatureScore, th config.DriftThresholds) []string {
	var reasons []string
	if f.PSI != nil && *f.PSI > th.PSI {
		reasons = append(reasons, fmt.Sprintf("PSI %.4g > %g", *f.PSI, th.PSI))
	}
	if f.KSPValue != nil && *f.KSPValue < th.KSPValue {
		reasons = append(reasons, fmt.Sprintf("KS p-value %.3g < %g", *f.KSPValue, th.KSPValue))
	}
	if th.KL > 0 && f.KL != nil && *f.KL > th.KL {
		reasons = append(reasons, fmt.Sprintf("KL %.4g > %g", *f.KL, th.KL))
	}
	return reasons
}

// retrainingDue reports whether the model's scheduled retraining date has
// passed: Every after its last retraining request opened or, before its
// first request, after the first drift report on it.
func (e *Engine) retrainingDue(t *txn, p RetrainPolicy, model string) (bool, string, error) {
	s, ok := e.Library.Get(p.SOP)
	if !ok || s.Binding == nil {
		return false, "", fmt.Errorf("retraining of %s names %s, which the SOP library does not have", model, p.SOP)
	}
	target := fillTemplate(s.Binding.Target, map[string]string{"model": model})
	last, ok, err := e.DB.LastRequestOpened(t.ctx, t.tx, target)
	if err != nil {
		return false, "", err
	}
	since := "the last retraining request opened"
	if !ok {
		if last, ok, err = e.DB.FirstDriftReport(t.ctx, t.tx, model); err != nil || !ok {
			return false, "", err
		}
		since = "the first drift report arrived"
	}
	if e.DB.Now().Sub(last) < p.Every {
		return false, "", nil
	}
	every := p.Every.String()
	if p.Every%(24*time.Hour) == 0 {
		every = fmt.Sprintf("%d days", p.Every/(24*time.Hour))
	}
	return true, fmt.Sprintf("scheduled retraining is due: %s %s, and the schedule is every %s",
		since, last.UTC().Format(time.RFC3339), every), nil
}

// reportNote is the Markdown that a request opened by a report posts
// first: the window, the thresholds and why the request opened. The
// scores table follows when drift-record records the report.
func reportNote(r DriftReport, th config.DriftThresholds, in driftIntake) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Drift report on `%s`\n\nThe detector compared the data from %s to %s with the reference distribution. "+
		"A feature drifts when PSI > %g or the KS p-value < %g", r.Model, in.Window["start"], in.Window["end"], th.PSI, th.KSPValue)
	if th.KL > 0 {
		fmt.Fprintf(&b, " or KL > %g", th.KL)
	}
	fmt.Fprintf(&b, ". Result: %s.\n", in.Summary)
	for _, reason := range in.Reasons {
		fmt.Fprintf(&b, "\n- %s", reason)
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// takeDrift stores a drift outcome's scores and acts on it. Without drift
// it only adds an audit row. Drift, or a due schedule, opens a retraining
// request as the bot, unless one for the model is open, which gets a
// comment instead.
func (e *Engine) takeDrift(t *txn, in driftIntake) (DriftDecision, error) {
	decision := DriftDecision{Model: in.Model, Drifted: []string{}, Reasons: in.Reasons, ScheduleDue: in.Due}
	for _, s := range in.Scores {
		if s.Drifted {
			decision.Drifted = append(decision.Drifted, s.Feature)
		}
	}
	now := e.DB.Now()
	if !in.Drifted && !in.Due {
		if err := e.DB.InsertDriftScores(t.ctx, t.tx, now, in.Scores); err != nil {
			return decision, err
		}
		e.Log.Info("no drift detected", "model", in.Model, "via", in.Via)
		detail := map[string]any{"model": in.Model, "summary": in.Summary, "via": in.Via, "window": in.Window}
		decision.Outcome = DriftNotDetected
		decision.Message = fmt.Sprintf("No drift detected for %s; the scores are recorded and monitoring continues.", in.Model)
		return decision, e.audit(t, 0, BotActor, "no drift detected", detail)
	}

	s, ok := e.Library.Get(in.SOP)
	if !ok || s.Binding == nil {
		return decision, fmt.Errorf("drift of %s names %s, which the SOP library does not have", in.Model, in.SOP)
	}
	params, err := ValidateParams(s, map[string]string{"model": in.Model})
	if err != nil {
		return decision, fmt.Errorf("drift of %s: %w", in.Model, err)
	}
	target := fillTemplate(s.Binding.Target, params)
	existing, err := e.DB.OpenRequestByTarget(t.ctx, t.tx, target)
	switch {
	case err == nil:
		return e.attachDrift(t, in, existing, decision, now)
	case !errors.Is(err, store.ErrNotFound):
		return decision, err
	}

	req := store.Request{
		SOPID: s.ID, SOPRevision: s.Revision, SOPSource: string(s.File), Target: target, State: StateOpening,
		Params: params, RequesterLogin: BotActor, Origin: store.Origin{Source: OriginSchedule, Note: in.Note},
	}
	detail := map[string]any{"sop": s.ID, "params": params, "via": in.Via, "summary": in.Summary, "reasons": in.Reasons, "window": in.Window}
	req, err = e.insertRequest(t, s, req, BotActor, detail)
	if err != nil {
		return decision, err
	}
	if err := e.DB.InsertDriftScores(t.ctx, t.tx, now, withRequest(in.Scores, req.ID)); err != nil {
		return decision, err
	}
	e.Log.Info("retraining request opened", "request_id", req.ID, "model", in.Model, "via", in.Via)
	decision.Outcome, decision.Request = DriftRequestOpened, fmt.Sprintf("R-%d", req.ID)
	decision.Message = fmt.Sprintf("Opened retraining request %s for %s: %s.", req.Label(), in.Model, in.Summary)
	return decision, nil
}

// attachDrift records an outcome on the model's open retraining request.
func (e *Engine) attachDrift(t *txn, in driftIntake, req store.Request, decision DriftDecision, now time.Time) (DriftDecision, error) {
	if err := e.DB.InsertDriftScores(t.ctx, t.tx, now, withRequest(in.Scores, req.ID)); err != nil {
		return decision, err
	}
	if err := e.audit(t, req.ID, BotActor, "drift detected", map[string]any{"summary": in.Summary, "via": in.Via, "window": in.Window}); err != nil {
		return decision, err
	}
	decision.Outcome, decision.Request, decision.IssueURL = DriftReportAttached, fmt.Sprintf("R-%d", req.ID), req.IssueURL
	decision.Message = fmt.Sprintf("%s for %s, but retraining request %s is open already, so the report was added to it.",
		capitalize(in.Summary), in.Model, req.Label())
	header := "Drift is still detected."
	if !in.Drifted {
		header = "No feature drifted, but the scheduled retraining date has passed again while this request is open."
	}
	return decision, e.comment(t, req, header+"\n\n"+in.Note)
}

func withRequest(scores []store.DriftScore, id int64) []store.DriftScore {
	out := make([]store.DriftScore, len(scores))
	for i, s := range scores {
		s.RequestID = id
		out[i] = s
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// insertRequest stores a new request with its items and revision, audits
// its opening as actor and enqueues its issue.
func (e *Engine) insertRequest(t *txn, s *sop.SOP, req store.Request, actor string, detail map[string]any) (store.Request, error) {
	id, err := e.DB.InsertRequest(t.ctx, t.tx, req)
	if err != nil {
		return req, err
	}
	if err := e.DB.InsertItems(t.ctx, t.tx, id, itemsOf(s)); err != nil {
		return req, err
	}
	req.ID = id
	if err := e.DB.SetRevision(t.ctx, t.tx, id, requestRevision(req, s, nil)); err != nil {
		return req, err
	}
	if err := e.audit(t, id, actor, "request opened", detail); err != nil {
		return req, err
	}
	return req, e.enqueue(t, OpenIssueArgs{RequestID: id})
}
