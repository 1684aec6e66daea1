package metrics

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
)

// driftScores is a DriftSource that returns fixed scores or an error.
type driftScores struct {
	scores []store.DriftScore
	err    error
}

func (d driftScores) LatestDriftScores(context.Context) ([]store.DriftScore, error) {
	return d.scores, d.err
}

// gauges gathers the registry and returns each series of the family name
// by its joined label values.
func gauges(t *testing.T, m *Metrics, name string) map[string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			key := ""
			for _, label := range metric.GetLabel() {
				key += label.GetName() + "=" + label.GetValue() + ","
			}
			out[key] = metric.GetGauge().GetValue()
		}
	}
	return out
}

func TestDriftGaugesFromSource(t *testing.T) {
	psi, p := 0.31, 0.001
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	m := New(nil)
	m.RegisterDrift(driftScores{scores: []store.DriftScore{
		{Model: "fraud", Feature: "tokens", PSI: &psi, KSPValue: &p, Drifted: true, ReportedAt: at},
		{Model: "fraud", Feature: "amount", ReportedAt: at},
	}}, slog.New(slog.DiscardHandler))

	assert.Equal(t, map[string]float64{
		"feature=tokens,metric=ks_pvalue,model=fraud,": 0.001,
		"feature=tokens,metric=psi,model=fraud,":       0.31,
	}, gauges(t, m, "sopbot_drift_score"), "a missing score has no series")
	assert.Equal(t, map[string]float64{"feature=amount,model=fraud,": 0, "feature=tokens,model=fraud,": 1},
		gauges(t, m, "sopbot_drift_detected"))
	assert.Equal(t, map[string]float64{"model=fraud,": float64(at.Unix())}, gauges(t, m, "sopbot_drift_report_timestamp_seconds"))
}

func TestDriftGaugesSourceError(t *testing.T) {
	var logs bytes.Buffer
	m := New(nil)
	m.RegisterDrift(driftScores{err: errors.New("database is closed")}, slog.New(slog.NewTextHandler(&logs, nil)))
	assert.Empty(t, gauges(t, m, "sopbot_drift_score"), "a failed read leaves the gauges out without failing the scrape")
	assert.Contains(t, logs.String(), "reading drift scores for metrics failed")
	assert.Contains(t, logs.String(), "database is closed")

	logs.Reset()
	gauges(t, m, "sopbot_drift_score")
	assert.Empty(t, logs.String(), "a second failure within a minute is counted, not logged")
}

func TestRegisterDriftOnNilMetrics(t *testing.T) {
	var m *Metrics
	assert.NotPanics(t, func() { m.RegisterDrift(driftScores{}, slog.New(slog.DiscardHandler)) })
}
