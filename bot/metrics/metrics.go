// Package metrics holds sopbot's Prometheus metrics. A nil *Metrics is
// valid and records nothing, so tests and tools need not build one.
package metrics

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the counters, gauges and histograms the bot exports on
// /metrics.
type Metrics struct {
	Registry *prometheus.Registry

	deliveries *prometheus.CounterVec // by source, event and outcome
	jobs       *prometheus.CounterVec // by kind and outcome
	actions    *prometheus.HistogramVec
}

// New registers every metric, including gauges read from db at scrape
// time: the queue's depth and age and the requests by SOP and state.
func New(db *sql.DB) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sopbot_deliveries_total",
			Help: "Webhook and Slack deliveries by source, event and outcome (received, duplicate, rejected, ignored, processed).",
		}, []string{"source", "event", "outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sopbot_jobs_total",
			Help: "Effect jobs by kind and outcome (done, retried, failed).",
		}, []string{"kind", "outcome"}),
		actions: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sopbot_action_duration_seconds",
			Help:    "Duration of the actions that run when an approval gate opens, by action and result.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"action", "result"}),
	}
	m.Registry.MustRegister(m.deliveries, m.jobs, m.actions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{db: db})
	return m
}

// Delivery counts one delivery outcome.
func (m *Metrics) Delivery(source, event, outcome string) {
	if m != nil {
		m.deliveries.WithLabelValues(source, event, outcome).Inc()
	}
}

// Job counts one job outcome.
func (m *Metrics) Job(kind, outcome string) {
	if m != nil {
		m.jobs.WithLabelValues(kind, outcome).Inc()
	}
}

// Action records how long an action took.
func (m *Metrics) Action(action, result string, took time.Duration) {
	if m != nil {
		m.actions.WithLabelValues(action, result).Observe(took.Seconds())
	}
}

var (
	queueDepthDesc = prometheus.NewDesc("sopbot_queue_jobs", "Jobs in the queue by kind and state.", []string{"kind", "state"}, nil)
	queueAgeDesc   = prometheus.NewDesc("sopbot_queue_oldest_available_seconds", "Age of the oldest job waiting to run.", nil, nil)
	requestsDesc   = prometheus.NewDesc("sopbot_requests", "Requests by SOP and state.", []string{"sop", "state"}, nil)
)

// storeCollector reads the queue and the requests from the database at
// scrape time, so the figures cannot drift from the store.
type storeCollector struct{ db *sql.DB }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueAgeDesc
	ch <- requestsDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.collectGrouped(ctx, ch, queueDepthDesc, `SELECT kind, state, COUNT(*) FROM river_job
		WHERE state NOT IN ('completed', 'cancelled', 'discarded') GROUP BY kind, state`)
	c.collectGrouped(ctx, ch, requestsDesc, `SELECT sop_id, state, COUNT(*) FROM requests GROUP BY sop_id, state`)
	var oldest sql.NullString
	if err := c.db.QueryRowContext(ctx, `SELECT MIN(scheduled_at) FROM river_job WHERE state = 'available'`).Scan(&oldest); err == nil {
		age := 0.0
		if t, ok := parseRiverTime(oldest.String); oldest.Valid && ok {
			age = time.Since(t).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, age)
	}
}

func (c *storeCollector) collectGrouped(ctx context.Context, ch chan<- prometheus.Metric, desc *prometheus.Desc, query string) {
	rows, err := c.db.QueryContext(ctx, query)
	if err != nil {
		return // a scrape during shutdown; the next one reports again
	}
	defer rows.Close()
	for rows.Next() {
		var a, b string
		var n float64
		if rows.Scan(&a, &b, &n) == nil {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, n, a, b)
		}
	}
}

// parseRiverTime reads River's timestamps, which the SQLite driver stores
// as Go's time.Time String form.
func parseRiverTime(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", s)
	return t, err == nil
}
