// Package metrics holds sopbot's Prometheus metrics. A nil *Metrics is
// valid and records nothing, so tests and tools need not build one.
package metrics

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the counters, gauges and histograms the bot exports on
// /metrics.
type Metrics struct {
	Registry *prometheus.Registry

	deliveries *prometheus.CounterVec // by source, event and outcome
	rejected   *prometheus.CounterVec // by source and reason
	jobs       *prometheus.CounterVec // by kind and outcome
	effects    *prometheus.CounterVec // by target and outcome
	actions    *prometheus.HistogramVec
	// kinds are the job kinds this process has worked. The queue gauge
	// reports 0 for each of them in every state without jobs, so its
	// series stay present while the queue is empty.
	kinds *kindSet
}

// New registers every metric, including gauges read from db at scrape
// time: the queue's depth and age and the requests by SOP and state. A nil
// db leaves those gauges out.
func New(db *sql.DB) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sopbot_deliveries_total",
			Help: "Webhook and Slack deliveries by source, event and outcome (received, duplicate, rejected, ignored, processed).",
		}, []string{"source", "event", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sopbot_deliveries_rejected_total",
			Help: "Webhook and Slack requests rejected before storage, by source and reason (" + strings.Join(RejectReasons, ", ") + ").",
		}, []string{"source", "reason"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sopbot_jobs_total",
			Help: "Effect jobs by kind and outcome (done, retried, failed).",
		}, []string{"kind", "outcome"}),
		effects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sopbot_effect_errors_total",
			Help: "Failed runs of effect jobs by the system they act on (" + strings.Join(Targets, ", ") + ", other) and outcome: retried (River runs the job again) or failed (given up). Snoozes, such as rate-limit waits, are not counted.",
		}, []string{"target", "outcome"}),
		actions: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sopbot_action_duration_seconds",
			Help:    "Duration of the actions that run when an approval gate opens, by action and result.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"action", "result"}),
	}
	m.kinds = &kindSet{}
	// Every known label value starts at 0, so a rate over the counters
	// works before the first error.
	for _, target := range Targets {
		m.effects.WithLabelValues(target, "retried")
		m.effects.WithLabelValues(target, "failed")
	}
	for _, source := range []string{"github", "slack"} {
		for _, reason := range RejectReasons {
			m.rejected.WithLabelValues(source, reason)
		}
	}
	m.Registry.MustRegister(m.deliveries, m.rejected, m.jobs, m.effects, m.actions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.Registry.MustRegister(&storeCollector{db: db, kinds: m.kinds})
	}
	return m
}

// Delivery counts one delivery outcome.
func (m *Metrics) Delivery(source, event, outcome string) {
	if m != nil {
		m.deliveries.WithLabelValues(source, event, outcome).Inc()
	}
}

// Reasons a request to a webhook endpoint is rejected before its delivery
// is stored.
const (
	RejectSignature     = "signature"      // missing, invalid or stale signature
	RejectBodyTooLarge  = "body_too_large" // over the endpoint's body limit
	RejectMalformed     = "malformed"      // missing headers, or a body that does not parse
	RejectStorageFailed = "storage_failed" // the database did not store the delivery
)

// RejectReasons lists every reason Rejected is called with.
var RejectReasons = []string{RejectSignature, RejectBodyTooLarge, RejectMalformed, RejectStorageFailed}

// Rejected counts one request rejected before its delivery was stored.
func (m *Metrics) Rejected(source, reason string) {
	if m != nil {
		m.rejected.WithLabelValues(source, reason).Inc()
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
type storeCollector struct {
	db    *sql.DB
	kinds *kindSet
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueAgeDesc
	ch <- requestsDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.collectQueue(ctx, ch)
	c.collectGrouped(ctx, ch, requestsDesc, `SELECT sop_id, state, COUNT(*) FROM requests GROUP BY sop_id, state`)
	// River's SQLite driver stores times as UTC text that julianday reads,
	// so SQLite computes the age in seconds. It is NULL for an empty queue.
	var age sql.NullFloat64
	err := c.db.QueryRowContext(ctx, `SELECT (julianday('now') - julianday(MIN(scheduled_at))) * 86400
		FROM river_job WHERE state = 'available'`).Scan(&age)
	if err == nil {
		ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, max(age.Float64, 0))
	}
}

// activeStates are River's job states that count as queued: every state
// but completed, cancelled and discarded.
var activeStates = []string{"available", "pending", "retryable", "running", "scheduled"}

// collectQueue reports the jobs by kind and state, with 0 for each active
// state of every kind this process has worked.
func (c *storeCollector) collectQueue(ctx context.Context, ch chan<- prometheus.Metric) {
	counts := map[[2]string]float64{}
	for _, kind := range c.kinds.list() {
		for _, state := range activeStates {
			counts[[2]string{kind, state}] = 0
		}
	}
	rows, err := c.db.QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM river_job
		WHERE state NOT IN ('completed', 'cancelled', 'discarded') GROUP BY kind, state`)
	if err != nil {
		return // a scrape during shutdown; the next one reports again
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n float64
		if rows.Scan(&kind, &state, &n) == nil {
			counts[[2]string{kind, state}] = n
		}
	}
	if rows.Err() != nil {
		return
	}
	for key, n := range counts {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, n, key[0], key[1])
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
