package bot

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/sopbot/sopbot/bot/config"
)

// ModelComparison is the result of model-compare: the version a
// retraining registered, against the version that holds the promotion
// target now. The engine reads it to open the promotion.
type ModelComparison struct {
	Model          string `json:"model"`
	Candidate      string `json:"candidate_version"`
	CandidateRunID string `json:"candidate_run_id"`
	CandidateURL   string `json:"candidate_url,omitempty"`
	// Production is the version that holds To now, or empty when none
	// does.
	Production string `json:"production_version,omitempty"`
	// To is the stage or alias that the promotion targets.
	To string `json:"to"`
	// ThresholdsHold reports whether every threshold of
	// mlflow.models.<model>.metrics holds, as SOP-02's metrics check
	// judges them.
	ThresholdsHold bool `json:"thresholds_hold"`
	// Improved reports whether every metric of minImprovement beat
	// production by its margin. It is false without a production version.
	Improved bool `json:"improved"`
	// AutoPromote is set when the promotion opens without a reviewer.
	AutoPromote  bool                `json:"auto_promote"`
	Metrics      []MetricComparison  `json:"metrics"`
	Improvements []ImprovementResult `json:"improvements,omitempty"`
}

// MetricComparison is one metric of a candidate against production.
type MetricComparison struct {
	Key        string   `json:"key"`
	Candidate  *float64 `json:"candidate,omitempty"`
	Production *float64 `json:"production,omitempty"`
	// Failures lists the thresholds the candidate breaks.
	Failures []string `json:"failures,omitempty"`
}

// ImprovementResult is one metric checked against its improvement margin.
type ImprovementResult struct {
	Key           string   `json:"key"`
	Margin        float64  `json:"margin"`
	LowerIsBetter bool     `json:"lower_is_better,omitempty"`
	Candidate     *float64 `json:"candidate,omitempty"`
	Production    *float64 `json:"production,omitempty"`
	// Gain is how much better the candidate is, in the metric's unit, and
	// negative when it is worse.
	Gain *float64 `json:"gain,omitempty"`
	Met  bool     `json:"met"`
}

// CompareMetrics checks a candidate's metrics against the thresholds and
// production's metrics, as SOP-02's metrics check does. It returns the
// rows, whether every threshold holds, and the rows as a Markdown table
// whose columns are headed with the two labels.
func CompareMetrics(candidate, production map[string]float64, thresholds map[string]config.Threshold, candidateLabel, productionLabel string) ([]MetricComparison, bool, string) {
	rows, ok := evaluateMetrics(candidate, production, thresholds)
	out := make([]MetricComparison, len(rows))
	for i, r := range rows {
		out[i] = MetricComparison{Key: r.Key, Candidate: r.Candidate, Production: r.Baseline, Failures: r.Failures}
	}
	return out, ok, metricsTable(rows, candidateLabel, productionLabel)
}

// CheckImprovements checks each metric of margins: the candidate must
// beat production by more than zero and by at least the margin. A metric
// either version did not log is not met. It returns the results, whether
// every one is met, and a Markdown table. No margins give no results and
// false, so an empty list never allows an automatic promotion.
func CheckImprovements(candidate, production map[string]float64, margins map[string]config.Improvement) ([]ImprovementResult, bool, string) {
	keys := make([]string, 0, len(margins))
	for k := range margins {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	all := len(keys) > 0
	var b strings.Builder
	b.WriteString("| metric | candidate | production | gain | required | met |\n| --- | --- | --- | --- | --- | --- |\n")
	results := make([]ImprovementResult, 0, len(keys))
	for _, key := range keys {
		m := margins[key]
		r := ImprovementResult{Key: key, Margin: m.Margin, LowerIsBetter: m.LowerIsBetter,
			Candidate: lookup(candidate, key), Production: lookup(production, key)}
		if r.Candidate != nil && r.Production != nil && finite(*r.Candidate, *r.Production) {
			gain := *r.Candidate - *r.Production
			if m.LowerIsBetter {
				gain = -gain
			}
			r.Gain = &gain
			r.Met = gain > 0 && gain >= m.Margin-1e-12
		}
		all = all && r.Met
		results = append(results, r)
		required := "≥ " + formatFloat(m.Margin) + " better"
		if m.LowerIsBetter {
			required += " (lower is better)"
		}
		met := "❌ no"
		if r.Met {
			met = "✅ yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", key, cell(r.Candidate), cell(r.Production), cell(r.Gain), required, met)
	}
	return results, all, b.String()
}

func finite(values ...float64) bool {
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
