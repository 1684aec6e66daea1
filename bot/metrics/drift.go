package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sopbot/sopbot/bot/store"
)

// DriftSource is the store of drift reports; *store.DB implements it.
type DriftSource interface {
	// LatestDriftScores returns the newest report on each model.
	LatestDriftScores(ctx context.Context) ([]store.DriftScore, error)
}

var (
	driftScoreDesc = prometheus.NewDesc("sopbot_drift_score",
		"Drift scores of the newest report on each model, by model, feature and metric (ks_statistic, ks_pvalue, psi, kl).",
		[]string{"model", "feature", "metric"}, nil)
	driftDetectedDesc = prometheus.NewDesc("sopbot_drift_detected",
		"1 when a feature's scores in the newest report on its model crossed a threshold, else 0.",
		[]string{"model", "feature"}, nil)
	driftReportDesc = prometheus.NewDesc("sopbot_drift_report_timestamp_seconds",
		"Unix time of the newest drift report on each model.", []string{"model"}, nil)
)

// driftCollector reads the newest drift reports from the store at scrape
// time, so the gauges show what is recorded, restarts included.
type driftCollector struct {
	source DriftSource
	log    *slog.Logger

	mu sync.Mutex
	// failures counts the failed reads since the last one logged.
	failures int
	loggedAt time.Time
}

// driftLogEvery bounds how often a failing read is logged, so an outage
// logs one line a minute and not one per scrape.
const driftLogEvery = time.Minute

// RegisterDrift adds the drift gauges, read from source at scrape time. A
// nil m registers nothing.
func (m *Metrics) RegisterDrift(source DriftSource, log *slog.Logger) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(&driftCollector{source: source, log: log})
}

func (c *driftCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- driftScoreDesc
	ch <- driftDetectedDesc
	ch <- driftReportDesc
}

func (c *driftCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	scores, err := c.source.LatestDriftScores(ctx)
	if err != nil {
		// A scrape during shutdown fails too; the next one reports again.
		c.logFailure(err)
		return
	}
	reported := map[string]time.Time{}
	for _, s := range scores {
		for metric, v := range map[string]*float64{"ks_statistic": s.KS, "ks_pvalue": s.KSPValue, "psi": s.PSI, "kl": s.KL} {
			if v != nil {
				ch <- prometheus.MustNewConstMetric(driftScoreDesc, prometheus.GaugeValue, *v, s.Model, s.Feature, metric)
			}
		}
		detected := 0.0
		if s.Drifted {
			detected = 1
		}
		ch <- prometheus.MustNewConstMetric(driftDetectedDesc, prometheus.GaugeValue, detected, s.Model, s.Feature)
		reported[s.Model] = s.ReportedAt
	}
	for model, at := range reported {
		ch <- prometheus.MustNewConstMetric(driftReportDesc, prometheus.GaugeValue, float64(at.UnixNano())/1e9, model)
	}
}

func (c *driftCollector) logFailure(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures++
	if now := time.Now(); now.Sub(c.loggedAt) >= driftLogEvery {
		c.log.Warn("reading drift scores for metrics failed", "error", err, "failures", c.failures)
		c.failures, c.loggedAt = 0, now
	}
}
