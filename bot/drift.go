package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/evidence/drift"
)

// OriginSchedule marks a request the bot opened on its own schedule.
const OriginSchedule = "schedule"

// DriftCheckArgs runs the scheduled drift check at Index of the
// configuration's drift list.
type DriftCheckArgs struct {
	Index int `json:"index"`
}

// Kind implements river.JobArgs.
func (DriftCheckArgs) Kind() string { return "drift_check" }

// handleDrift records a drift check. Drift opens a request of the
// configured SOP as the bot, with the report as its first comment, unless
// a request for the model is open: that one gets the new report instead. A
// check without drift only adds an audit row.
func (e *Engine) handleDrift(t *txn, ev DriftChecked) error {
	if !ev.Drifted {
		e.Log.Info("no drift detected", "model", ev.Model)
		return e.audit(t, 0, BotActor, "no drift detected", map[string]string{"model": ev.Model, "summary": ev.Summary})
	}
	s, ok := e.Library.Get(ev.SOP)
	if !ok || s.Binding == nil {
		return fmt.Errorf("drift check of %s names %s, which the SOP library does not have", ev.Model, ev.SOP)
	}
	params, err := ValidateParams(s, map[string]string{"model": ev.Model})
	if err != nil {
		return fmt.Errorf("drift check of %s: %w", ev.Model, err)
	}
	target := fillTemplate(s.Binding.Target, params)
	existing, err := e.DB.OpenRequestByTarget(t.ctx, t.tx, target)
	if err == nil {
		if err := e.audit(t, existing.ID, BotActor, "drift detected", ev.Summary); err != nil {
			return err
		}
		return e.comment(t, existing, "Drift is still detected.\n\n"+ev.Report)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	req := store.Request{
		SOPID: s.ID, SOPRevision: s.Revision, SOPSource: string(s.File), Target: target, State: StateOpening,
		Params: params, RequesterLogin: BotActor, Origin: store.Origin{Source: OriginSchedule, Note: ev.Report},
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
	if err := e.audit(t, id, BotActor, "request opened", map[string]any{"sop": s.ID, "params": params, "via": "drift check", "summary": ev.Summary}); err != nil {
		return err
	}
	if err := e.enqueue(t, OpenIssueArgs{RequestID: id}); err != nil {
		return err
	}
	return e.notify(t, fmt.Sprintf("Drift detected for %s: %s. Opening a %s retraining request.", ev.Model, ev.Summary, s.ID))
}

func (w *Workers) driftCheck(ctx context.Context, job *river.Job[DriftCheckArgs]) error {
	if job.Args.Index < 0 || job.Args.Index >= len(w.DriftChecks) {
		return river.JobCancel(fmt.Errorf("no drift check %d in the configuration", job.Args.Index))
	}
	check := w.DriftChecks[job.Args.Index]
	report, err := drift.CompareFiles(check.Reference, check.Current, check.Columns)
	if err != nil {
		w.Log.Error("drift check failed", "model", check.Model, "error", err)
		return river.JobCancel(fmt.Errorf("drift check of %s: %w", check.Model, err))
	}
	return w.apply(ctx, DriftOutcome(check, report))
}

// DriftOutcome decides whether a drift report crosses the check's
// thresholds and renders it: a table of every column's scores and, for
// each drifted column, reference against current proportions as a
// Mermaid chart.
func DriftOutcome(check config.DriftCheck, report drift.Report) DriftChecked {
	var b strings.Builder
	fmt.Fprintf(&b, "### Drift check of `%s`\n\nReference `%s`, current `%s`. A column drifts when PSI > %g, the KS p-value < %g",
		check.Model, check.Reference, check.Current, check.PSI, check.KSPValue)
	if check.KL > 0 {
		fmt.Fprintf(&b, " or KL > %g", check.KL)
	}
	b.WriteString(".\n\n| column | n reference | n current | dropped NaN/Inf | KS D | KS p-value | mode | PSI | KL | drift |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var drifted []string
	var charts strings.Builder
	for _, c := range report.Columns {
		reasons := driftReasons(check, c)
		mark := "no"
		if len(reasons) > 0 {
			mark = "**yes**: " + strings.Join(reasons, ", ")
			drifted = append(drifted, c.Column)
			fmt.Fprintf(&charts, "\n#### `%s`\n\n%s\n", c.Column, c.MermaidChart())
		}
		dropped := c.Reference.DroppedNaN + c.Reference.DroppedInf + c.Current.DroppedNaN + c.Current.DroppedInf
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %.4f | %.3g | %s | %.4f | %.4f | %s |\n", c.Column, c.Reference.N, c.Current.N,
			dropped, c.KS.D, c.KS.PValue, c.KS.Mode, c.PSI, c.KL, mark)
	}
	b.WriteString(charts.String())
	summary := "no column drifted"
	if len(drifted) > 0 {
		summary = fmt.Sprintf("%d of %d column(s) drifted: %s", len(drifted), len(report.Columns), strings.Join(drifted, ", "))
	}
	return DriftChecked{Model: check.Model, SOP: check.SOP, Drifted: len(drifted) > 0, Summary: summary, Report: b.String()}
}

func driftReasons(check config.DriftCheck, c drift.ColumnResult) []string {
	var reasons []string
	if c.PSI > check.PSI {
		reasons = append(reasons, fmt.Sprintf("PSI %.3f", c.PSI))
	}
	if !math.IsNaN(c.KS.PValue) && c.KS.PValue < check.KSPValue {
		reasons = append(reasons, fmt.Sprintf("KS p %.2g", c.KS.PValue))
	}
	if check.KL > 0 && c.KL > check.KL {
		reasons = append(reasons, fmt.Sprintf("KL %.3f", c.KL))
	}
	return reasons
}
