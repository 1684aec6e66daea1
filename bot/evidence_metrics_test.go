package bot

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

func ptr(v float64) *float64 { return &v }

func TestEvaluateMetrics(t *testing.T) {
	thresholds := map[string]config.Threshold{
		"accuracy":   {Min: ptr(0.9), MaxRegression: ptr(0.01)},
		"latency_ms": {Max: ptr(50), MaxRegression: ptr(5), LowerIsBetter: true},
	}
	cases := []struct {
		name      string
		candidate map[string]float64
		baseline  map[string]float64
		ok        bool
		failures  map[string]string
	}{
		{"every bound holds", map[string]float64{"accuracy": 0.95, "latency_ms": 40}, map[string]float64{"accuracy": 0.955, "latency_ms": 38}, true, nil},
		{"below the minimum", map[string]float64{"accuracy": 0.85, "latency_ms": 40}, nil, false,
			map[string]string{"accuracy": "0.85 is below the minimum 0.9"}},
		{"above the maximum", map[string]float64{"accuracy": 0.95, "latency_ms": 60}, nil, false,
			map[string]string{"latency_ms": "60 is above the maximum 50"}},
		{"higher-is-better regression", map[string]float64{"accuracy": 0.92, "latency_ms": 40}, map[string]float64{"accuracy": 0.95}, false,
			map[string]string{"accuracy": "regresses by 0.03, more than the allowed 0.01"}},
		{"lower-is-better regression", map[string]float64{"accuracy": 0.95, "latency_ms": 49}, map[string]float64{"latency_ms": 40}, false,
			map[string]string{"latency_ms": "regresses by 9, more than the allowed 5"}},
		{"regression exactly at the bound", map[string]float64{"accuracy": 0.94, "latency_ms": 45}, map[string]float64{"accuracy": 0.95, "latency_ms": 40}, true, nil},
		{"metric not logged", map[string]float64{"accuracy": 0.95}, nil, false,
			map[string]string{"latency_ms": "not logged by the candidate's run"}},
		{"no baseline, no regression", map[string]float64{"accuracy": 0.95, "latency_ms": 10}, nil, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, ok := evaluateMetrics(tc.candidate, tc.baseline, thresholds)
			assert.Equal(t, tc.ok, ok, "thresholds hold")
			for _, row := range rows {
				want := tc.failures[row.Key]
				if want == "" {
					assert.Empty(t, row.Failures, "failures of %s", row.Key)
					continue
				}
				assert.Equal(t, []string{want}, row.Failures, "failures of %s", row.Key)
			}
		})
	}
}

func TestMetricsTableShowsEveryMetric(t *testing.T) {
	rows, _ := evaluateMetrics(map[string]float64{"accuracy": 0.85, "f1": 0.7}, map[string]float64{"accuracy": 0.9},
		map[string]config.Threshold{"accuracy": {Min: ptr(0.9)}})
	table := metricsTable(rows, "v3", "v2")

	lines := strings.Split(strings.TrimSpace(table), "\n")
	assert.Len(t, lines, 4, "header, rule and two metrics")
	assert.Equal(t, "| metric | candidate v3 | production v2 | min | max | allowed regression | result |", lines[0])
	assert.Equal(t, "| `accuracy` | 0.85 | 0.9 | 0.9 |  |  | ❌ 0.85 is below the minimum 0.9 |", lines[2])
	assert.Equal(t, "| `f1` | 0.7 | — |  |  |  | no threshold |", lines[3])
}

func TestLineageSaysWhatIsMissing(t *testing.T) {
	full := lineage(mlflow.Run{ID: "r1", Params: map[string]string{"dataset_version": "2026-11-30"},
		Datasets: []mlflow.DatasetInput{{Name: "transactions", Digest: "abc123", SourceType: "delta", Source: "s3://bucket/tx", Context: "training"}}}, "dataset_version")
	assert.Contains(t, full, "Training dataset version: `2026-11-30` (run parameter `dataset_version`).")
	assert.Contains(t, full, "Dataset input `transactions` (training): digest `abc123`, source type `delta`, source `s3://bucket/tx`.")

	fromTag := lineage(mlflow.Run{ID: "r1", Tags: map[string]string{"dataset_version": "v7"}}, "dataset_version")
	assert.Contains(t, fromTag, "`v7` (run tag `dataset_version`)")

	missing := lineage(mlflow.Run{ID: "r2"}, "dataset_version")
	assert.Contains(t, missing, "Training dataset version: **missing**; run `r2` logs no parameter or tag `dataset_version`.")
	assert.Contains(t, missing, "Dataset inputs: **none logged**")
}
