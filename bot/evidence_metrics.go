package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// EvidenceSettings configure the checks that gather evidence.
type EvidenceSettings struct {
	// Thresholds returns the metric thresholds of a model, by metric key.
	Thresholds func(model string) map[string]config.Threshold
	// DatasetVersionKey is the run parameter or tag naming the training
	// dataset version.
	DatasetVersionKey string
	ScanMaxFileBytes  int64
	ScanMaxFiles      int
}

// metricRow is one line of the metrics table.
type metricRow struct {
	Key       string
	Candidate *float64
	Baseline  *float64
	Threshold *config.Threshold
	Failures  []string
}

// evaluateMetrics checks every configured threshold against the candidate's
// metrics and, for regressions, the baseline's. A threshold on a metric the
// candidate did not log fails. Without a baseline a regression bound
// cannot be broken, and the row says so.
func evaluateMetrics(candidate, baseline map[string]float64, thresholds map[string]config.Threshold) ([]metricRow, bool) {
	keys := map[string]bool{}
	for k := range candidate {
		keys[k] = true
	}
	for k := range thresholds {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)

	ok := true
	rows := make([]metricRow, 0, len(names))
	for _, key := range names {
		row := metricRow{Key: key, Candidate: lookup(candidate, key), Baseline: lookup(baseline, key)}
		if th, has := thresholds[key]; has {
			row.Threshold = &th
			row.Failures = checkThreshold(row, th)
			ok = ok && len(row.Failures) == 0
		}
		rows = append(rows, row)
	}
	return rows, ok
}

func lookup(m map[string]float64, key string) *float64 {
	if v, ok := m[key]; ok {
		return &v
	}
	return nil
}

func checkThreshold(row metricRow, th config.Threshold) []string {
	if row.Candidate == nil || math.IsNaN(*row.Candidate) {
		return []string{"not logged by the candidate's run"}
	}
	v := *row.Candidate
	var failures []string
	if th.Min != nil && v < *th.Min {
		failures = append(failures, fmt.Sprintf("%s is below the minimum %s", formatFloat(v), formatFloat(*th.Min)))
	}
	if th.Max != nil && v > *th.Max {
		failures = append(failures, fmt.Sprintf("%s is above the maximum %s", formatFloat(v), formatFloat(*th.Max)))
	}
	if th.MaxRegression != nil && row.Baseline != nil {
		regression := *row.Baseline - v
		if th.LowerIsBetter {
			regression = v - *row.Baseline
		}
		if regression > *th.MaxRegression+1e-12 {
			failures = append(failures, fmt.Sprintf("regresses by %s, more than the allowed %s", formatFloat(regression), formatFloat(*th.MaxRegression)))
		}
	}
	return failures
}

func formatFloat(v float64) string { return fmt.Sprintf("%.6g", v) }

func cell(v *float64) string {
	if v == nil {
		return "—"
	}
	return formatFloat(*v)
}

func boundCell(v *float64) string {
	if v == nil {
		return ""
	}
	return formatFloat(*v)
}

// metricsTable renders the rows as a Markdown table.
func metricsTable(rows []metricRow, candidate, baseline string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| metric | candidate %s | production %s | min | max | allowed regression | result |\n", candidate, baseline)
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		result, minCell, maxCell, regCell := "no threshold", "", "", ""
		if r.Threshold != nil {
			minCell, maxCell, regCell = boundCell(r.Threshold.Min), boundCell(r.Threshold.Max), boundCell(r.Threshold.MaxRegression)
			if r.Threshold.LowerIsBetter && regCell != "" {
				regCell += " (lower is better)"
			}
			result = "✅ holds"
			if len(r.Failures) > 0 {
				result = "❌ " + strings.Join(r.Failures, "; ")
			} else if r.Threshold.MaxRegression != nil && r.Baseline == nil {
				result = "✅ holds (no production value to regress from)"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", r.Key, cell(r.Candidate), cell(r.Baseline), minCell, maxCell, regCell, result)
	}
	return b.String()
}

// checkMetrics compares the candidate version's run metrics with the
// version that holds the target now, against the model's thresholds, and
// reports the run's dataset lineage beside them.
func (w *Workers) checkMetrics(ctx context.Context, req store.Request) (CheckFinished, error) {
	model, version := req.Params["model"], req.Params["version"]
	result := CheckFinished{RequestID: req.ID}
	candidate, run, err := w.versionRun(ctx, model, version)
	if errors.Is(err, mlflow.ErrNotFound) {
		result.Evidence = fmt.Sprintf("version %s of `%s`, or its run, is not in MLflow.", version, model)
		return result, nil
	}
	if err != nil {
		return result, err
	}
	if candidate.RunID == "" {
		result.Evidence = fmt.Sprintf("version %s of `%s` names no run, so it has no metrics to compare.", version, model)
		return result, nil
	}
	baselineLabel, baseline, err := w.baselineMetrics(ctx, req, version)
	if err != nil {
		return result, err
	}

	var thresholds map[string]config.Threshold
	if w.Evidence.Thresholds != nil {
		thresholds = w.Evidence.Thresholds(model)
	}
	rows, ok := evaluateMetrics(run.Metrics, baseline, thresholds)
	result.Report = metricsTable(rows, "v"+version, baselineLabel) + "\n" + lineage(run, w.Evidence.DatasetVersionKey)
	switch {
	case len(thresholds) == 0:
		result.NotApplicable = true
		result.Evidence = fmt.Sprintf("no metric thresholds are configured for `%s` (mlflow.models.%s.metrics).", model, model)
	case ok:
		result.Passed = true
		result.Evidence = fmt.Sprintf("every configured threshold holds for %s v%s against production %s.", model, version, baselineLabel)
	default:
		result.Evidence = fmt.Sprintf("%s v%s misses a configured threshold; the table shows which.", model, version)
	}
	return result, nil
}

func (w *Workers) versionRun(ctx context.Context, model, version string) (mlflow.ModelVersion, mlflow.Run, error) {
	mv, err := w.Registry.GetModelVersion(ctx, model, version)
	if err != nil || mv.RunID == "" {
		return mv, mlflow.Run{}, err
	}
	run, err := w.Registry.GetRun(ctx, mv.RunID)
	return mv, run, err
}

// baselineMetrics returns the label and run metrics of the version that
// holds the request's target now: the version in the target stage, or the
// one the alias points at. It returns no metrics when there is none.
func (w *Workers) baselineMetrics(ctx context.Context, req store.Request, candidate string) (string, map[string]float64, error) {
	model, target := req.Params["model"], req.Params["to"]
	if _, isStage := mlflow.CanonicalStage(target); !isStage {
		return w.aliasBaseline(ctx, model, target)
	} else if alias, ok := w.policyAlias(model, target); ok {
		return w.aliasBaseline(ctx, model, alias)
	}
	versions, err := w.Registry.SearchModelVersions(ctx, model)
	if err != nil {
		return "", nil, fmt.Errorf("listing versions of %s: %w", model, err)
	}
	for _, v := range versions {
		if v.CurrentStage == target && v.Version != candidate {
			return w.runMetrics(ctx, v)
		}
	}
	return "(none)", nil, nil
}

func (w *Workers) aliasBaseline(ctx context.Context, model, alias string) (string, map[string]float64, error) {
	mv, err := w.Registry.GetModelVersionByAlias(ctx, model, alias)
	if errors.Is(err, mlflow.ErrNotFound) {
		return "(none)", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("reading alias %s of %s: %w", alias, model, err)
	}
	return w.runMetrics(ctx, mv)
}

func (w *Workers) runMetrics(ctx context.Context, mv mlflow.ModelVersion) (string, map[string]float64, error) {
	label := "v" + mv.Version
	if mv.RunID == "" {
		return label + " (no run)", nil, nil
	}
	run, err := w.Registry.GetRun(ctx, mv.RunID)
	if errors.Is(err, mlflow.ErrNotFound) {
		return label + " (run missing)", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("reading run %s: %w", mv.RunID, err)
	}
	return label, run.Metrics, nil
}

// lineage describes the training dataset version and the run's logged
// dataset inputs, and says plainly what is missing.
func lineage(run mlflow.Run, versionKey string) string {
	var b strings.Builder
	b.WriteString("**Lineage** (for the data lineage and feature provenance review)\n\n")
	version, source := run.Params[versionKey], "parameter"
	if version == "" {
		version, source = run.Tags[versionKey], "tag"
	}
	if version == "" {
		fmt.Fprintf(&b, "- Training dataset version: **missing**; run `%s` logs no parameter or tag `%s`.\n", run.ID, versionKey)
	} else {
		fmt.Fprintf(&b, "- Training dataset version: `%s` (run %s `%s`).\n", version, source, versionKey)
	}
	if len(run.Datasets) == 0 {
		fmt.Fprintf(&b, "- Dataset inputs: **none logged**; run `%s` has no dataset inputs (mlflow.log_input).\n", run.ID)
		return b.String()
	}
	for _, d := range run.Datasets {
		context := d.Context
		if context == "" {
			context = "unspecified"
		}
		fmt.Fprintf(&b, "- Dataset input `%s` (%s): digest `%s`, source type `%s`, source `%s`.\n", d.Name, context, d.Digest, d.SourceType, clip(d.Source, 200))
	}
	return b.String()
}
