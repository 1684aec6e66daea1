package metrics

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dto "github.com/prometheus/client_model/go"

	"github.com/sopbot/sopbot/bot/store"
)

func TestEffectTarget(t *testing.T) {
	cases := []struct {
		kind string
		args string
		want string
	}{
		{"open_issue", `{"request_id":1}`, TargetGitHub},
		{"sweep", `{}`, TargetGitHub},
		{"gate_message", `{"request_id":1}`, TargetSlack},
		{"check", `{"check":"artifact-scan"}`, TargetMLflow},
		{"reply", `{"origin":{"source":"github","issue":4}}`, TargetGitHub},
		{"reply", `{"origin":{"source":"slack"}}`, TargetSlack},
		{"reply", `{"origin":{"source":"schedule"}}`, ""},
		{"reply", `{"origin":{"source":"teams"}}`, targetOther},
		{"action", `{"action":"mlflow-promote"}`, TargetMLflow},
		{"infra_action", `{"action":"k8s-onboard"}`, TargetKubernetes},
		{"infra_action", `{"action":"secret-repoint"}`, TargetKubernetes},
		{"infra_action", `{"action":"kfp-initial-run"}`, TargetKFP},
		{"infra_action", `{"action":"inventory-add"}`, targetOther},
		{"action", `not json`, targetOther},
		{"process_delivery", `{"delivery_id":"github:1"}`, ""},
		{"drift_check", `{"index":0}`, ""},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, effectTarget(tc.kind, []byte(tc.args)), "kind %s, args %s", tc.kind, tc.args)
	}
}

func TestQueueMiddlewareCountsOutcomes(t *testing.T) {
	m := New(nil)
	middleware := m.QueueMiddleware()
	run := func(kind, args string, attempt int, err error) {
		job := &rivertype.JobRow{Kind: kind, EncodedArgs: []byte(args), Attempt: attempt, MaxAttempts: 3}
		got := middleware.Work(context.Background(), job, func(context.Context) error { return err })
		assert.Equal(t, err, got, "the middleware returns the job's error unchanged")
	}
	failure := errors.New("502 Bad Gateway")

	run("comment", `{}`, 1, nil)
	run("comment", `{}`, 1, failure)
	run("comment", `{}`, 2, river.JobSnooze(time.Second))
	run("comment", `{}`, 3, failure)
	run("notify", `{}`, 1, river.JobCancel(failure))
	run("process_delivery", `{}`, 1, failure)

	families := gather(t, m)
	assert.Equal(t, 1.0, value(t, families, "sopbot_effect_errors_total", map[string]string{"target": "github", "outcome": "retried"}),
		"a snooze is no retry")
	assert.Equal(t, 1.0, value(t, families, "sopbot_effect_errors_total", map[string]string{"target": "github", "outcome": "failed"}))
	assert.Equal(t, 1.0, value(t, families, "sopbot_effect_errors_total", map[string]string{"target": "slack", "outcome": "failed"}))
	assert.Equal(t, 0.0, value(t, families, "sopbot_effect_errors_total", map[string]string{"target": "kfp", "outcome": "retried"}),
		"a target without errors is reported as 0")
	assert.Equal(t, []string{"comment", "notify", "process_delivery"}, m.kinds.list())
}

func TestNilMetricsMiddlewareRunsJob(t *testing.T) {
	var m *Metrics
	ran := false
	err := m.QueueMiddleware().Work(context.Background(), &rivertype.JobRow{Kind: "comment"},
		func(context.Context) error { ran = true; return nil })
	require.NoError(t, err)
	assert.True(t, ran)
}

func TestRejectedStartsAtZero(t *testing.T) {
	m := New(nil)
	m.Rejected("github", RejectSignature)

	families := gather(t, m)
	assert.Equal(t, 1.0, value(t, families, "sopbot_deliveries_rejected_total", map[string]string{"source": "github", "reason": "signature"}))
	assert.Equal(t, 0.0, value(t, families, "sopbot_deliveries_rejected_total", map[string]string{"source": "slack", "reason": "body_too_large"}))
}

func TestStoreCollectorReadsQueue(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "sopbot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	m := New(db.SQL)

	// An insert-only client: nothing works the job, so it stays available.
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[idleArgs]) error { return nil }))
	client, err := river.NewClient(riversqlite.New(db.SQL), &river.Config{Workers: workers})
	require.NoError(t, err)
	inserted, err := client.Insert(ctx, idleArgs{}, nil)
	require.NoError(t, err)
	_, err = db.SQL.Exec(`UPDATE river_job SET scheduled_at = datetime('now', '-90 seconds') WHERE id = ?`, inserted.Job.ID)
	require.NoError(t, err)
	// A kind that ran before reports 0 in every state without jobs.
	require.NoError(t, m.QueueMiddleware().Work(ctx, &rivertype.JobRow{Kind: "comment"}, func(context.Context) error { return nil }))

	families := gather(t, m)
	assert.Equal(t, 1.0, value(t, families, "sopbot_queue_jobs", map[string]string{"kind": "idle", "state": "available"}))
	assert.Equal(t, 0.0, value(t, families, "sopbot_queue_jobs", map[string]string{"kind": "comment", "state": "available"}))
	assert.Equal(t, 0.0, value(t, families, "sopbot_queue_jobs", map[string]string{"kind": "comment", "state": "retryable"}))
	age := value(t, families, "sopbot_queue_oldest_available_seconds", nil)
	assert.GreaterOrEqual(t, age, 90.0, "the job became available 90s ago")
	assert.Less(t, age, 150.0)
}

type idleArgs struct{}

func (idleArgs) Kind() string { return "idle" }

func gather(t *testing.T, m *Metrics) []*dto.MetricFamily {
	t.Helper()
	families, err := m.Registry.Gather()
	require.NoError(t, err)
	return families
}

// value returns the value of the series of family name whose labels
// include every pair of labels, and fails the test when there is none.
func value(t *testing.T, families []*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, metric := range family.GetMetric() {
			if hasLabels(metric, labels) {
				switch {
				case metric.Counter != nil:
					return metric.GetCounter().GetValue()
				case metric.Gauge != nil:
					return metric.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func hasLabels(metric *dto.Metric, labels map[string]string) bool {
	found := 0
	for _, pair := range metric.GetLabel() {
		if want, ok := labels[pair.GetName()]; ok && want == pair.GetValue() {
			found++
		}
	}
	return found == len(labels)
}
