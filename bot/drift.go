package bot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
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

// handleDrift records a scheduled drift check like a detector report:
// drift opens a retraining request as the bot, with the report as its
// first comment, unless a request for the model is open, which gets the
// new report instead. A check without drift only adds an audit row.
func (e *Engine) handleDrift(t *txn, ev DriftChecked) error {
	in := driftIntake{Model: ev.Model, SOP: ev.SOP, Scores: ev.Scores, Drifted: ev.Drifted, Summary: ev.Summary,
		Note: ev.Report, Via: "drift check"}
	_, err := e.takeDrift(t, in)
	return err
}

func (w *Workers) driftCheck(ctx context.Context, job *river.Job[DriftCheckArgs]) error {
	if job.Args.Index < 0 || job.Args.Index >= len(w.DriftChecks) {
		return river.JobCancel(fmt.Errorf("no drift check %d in the configuration", job.Args.Index))
	}
	check := w.DriftChecks[job.Args.Index]
	if _, err := os.Stat(check.Current); errors.Is(err, fs.ErrNotExist) {
		// The pipeline that writes the current data may not have run yet,
		// and the next period's check reads the file again.
		w.Log.Warn("drift check skipped: the current data file does not exist yet",
			"model", check.Model, "current", check.Current, "every", check.Every)
		return nil
	}
	report, err := drift.CompareFiles(check.Reference, check.Current, check.Columns)
	if err != nil {
		cause := fmt.Errorf("drift check of %s: %w", check.Model, err)
		return &jobFailure{err: river.JobCancel(cause), cause: cause, attrs: []any{"model", check.Model}}
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
	var scores []store.DriftScore
	var charts strings.Builder
	for _, c := range report.Columns {
		reasons := driftReasons(check, c)
		mark := "no"
		if len(reasons) > 0 {
			mark = "**yes**: " + strings.Join(reasons, ", ")
			drifted = append(drifted, c.Column)
			fmt.Fprintf(&charts, "\n#### `%s`\n\n%s\n", c.Column, c.MermaidChart())
		}
		scores = append(scores, columnScore(check.Model, c, len(reasons) > 0))
		dropped := c.Reference.DroppedNaN + c.Reference.DroppedInf + c.Current.DroppedNaN + c.Current.DroppedInf
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %.4f | %.3g | %s | %.4f | %.4f | %s |\n", c.Column, c.Reference.N, c.Current.N,
			dropped, c.KS.D, c.KS.PValue, c.KS.Mode, c.PSI, c.KL, mark)
	}
	b.WriteString(charts.String())
	summary := "no column drifted"
	if len(drifted) > 0 {
		summary = fmt.Sprintf("%d of %d column(s) drifted: %s", len(drifted), len(report.Columns), strings.Join(drifted, ", "))
	}
	return DriftChecked{Model: check.Model, SOP: check.SOP, Drifted: len(drifted) > 0, Summary: summary, Report: b.String(), Scores: scores}
}

// columnScore is one column's result as a stored drift score. A statistic
// that is NaN, as for a column without values, is stored as missing.
func columnScore(model string, c drift.ColumnResult, drifted bool) store.DriftScore {
	finite := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return store.DriftScore{Model: model, Feature: c.Column, KS: finite(c.KS.D), KSPValue: finite(c.KS.PValue),
		PSI: finite(c.PSI), KL: finite(c.KL), Drifted: drifted}
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
