package bot

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/httpretry"
)

// lockedBuffer is a bytes.Buffer that River's goroutines and the test can
// share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// entries returns every JSON line written so far.
func (b *lockedBuffer) entries(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var all []map[string]any
	scanner := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for scanner.Scan() {
		var entry map[string]any
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &entry), "log line %s", scanner.Text())
		all = append(all, entry)
	}
	return all
}

// failArgs is a job that fails in the way Mode names.
type failArgs struct {
	Mode string `json:"mode"`
}

func (failArgs) Kind() string { return "fail_test" }

func (w *Workers) failingWork(_ context.Context, job *river.Job[failArgs]) error {
	attrs := []any{"request_id", 7, "sop", "SOP-02"}
	switch job.Args.Mode {
	case "retry":
		return w.outcome(job.Kind, attrs, errors.New("502 Bad Gateway"))
	case "cancel":
		return w.outcome(job.Kind, attrs, fmt.Errorf("loading request 7: %w", store.ErrNotFound))
	case "rate-limit":
		return w.outcome(job.Kind, attrs, &httpretry.WaitError{Until: time.Now().Add(time.Hour)})
	case "panic":
		panic("unexpected nil view")
	case "wait":
		return river.JobSnooze(time.Hour)
	}
	return errors.New("502 Bad Gateway")
}

// hourRetry retries every failed job an hour later, so a retryable job
// stays retryable while the test reads the log.
type hourRetry struct{}

func (hourRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Hour) }

func TestFailedJobsLoggedOnceAtTheirLevel(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	logs := &lockedBuffer{}
	handler := slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	w := &Workers{Log: slog.New(handler)}
	workers := river.NewWorkers()
	river.AddWorker(workers, counted(w, w.failingWork))
	client, err := river.NewClient(riversqlite.New(db.SQL), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 10 * time.Millisecond,
		Logger:            slog.New(QueueLogHandler(handler)).With("component", "queue"),
		RetryPolicy:       hourRetry{},
	})
	require.NoError(t, err)

	cases := []struct {
		mode        string
		maxAttempts int
		state       rivertype.JobState
		level, msg  string
	}{
		{"retry", 3, rivertype.JobStateRetryable, "WARN", "job failed; retrying"},
		{"discard", 1, rivertype.JobStateDiscarded, "ERROR", "job failed; discarded"},
		{"cancel", 3, rivertype.JobStateCancelled, "ERROR", "job failed; cancelled"},
		{"rate-limit", 3, rivertype.JobStateScheduled, "WARN", "rate limited; retrying later"},
		{"panic", 1, rivertype.JobStateDiscarded, "ERROR", "job panicked; discarded"},
		{"wait", 3, rivertype.JobStateScheduled, "", ""},
	}
	ids := make([]int64, len(cases))
	for i, c := range cases {
		inserted, err := client.Insert(ctx, failArgs{Mode: c.mode}, &river.InsertOpts{MaxAttempts: c.maxAttempts})
		require.NoError(t, err)
		ids[i] = inserted.Job.ID
	}
	require.NoError(t, client.Start(ctx))
	for i, c := range cases {
		require.Eventually(t, func() bool {
			job, err := client.JobGet(ctx, ids[i])
			return err == nil && job.State == c.state
		}, 20*time.Second, 10*time.Millisecond, "the %s job ends %s", c.mode, c.state)
	}
	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, client.Stop(stop))

	entries := logs.entries(t)
	for _, entry := range entries {
		msg, _ := entry["msg"].(string)
		for _, suffix := range riverFailureMessages {
			assert.False(t, strings.HasSuffix(msg, suffix), "River's own failure line is logged: %v", entry)
		}
	}
	for i, c := range cases {
		var lines []map[string]any
		for _, entry := range entries {
			if entry["job_id"] == float64(ids[i]) && entry["component"] != "queue" {
				lines = append(lines, entry)
			}
		}
		if c.msg == "" {
			assert.Empty(t, lines, "a snooze the worker chose is no failure")
			continue
		}
		require.Len(t, lines, 1, "the %s job's failure is logged once: %v", c.mode, lines)
		line := lines[0]
		assert.Equal(t, c.level, line["level"], c.mode)
		assert.Equal(t, c.msg, line["msg"], c.mode)
		assert.Equal(t, "fail_test", line["job_kind"], c.mode)
		assert.Equal(t, 1.0, line["attempt"], c.mode)
		assert.Equal(t, float64(c.maxAttempts), line["max_attempts"], c.mode)
		if c.mode != "panic" && c.mode != "discard" {
			assert.Equal(t, "SOP-02", line["sop"], "%s: the worker's attributes are kept", c.mode)
		}
	}
	snoozed := false
	for _, entry := range entries {
		snoozed = snoozed || strings.HasSuffix(entry["msg"].(string), ": Job snoozed")
	}
	assert.True(t, snoozed, "River's other lines still reach the log")
}

func TestFailureLogKeepsErrorText(t *testing.T) {
	logs := &lockedBuffer{}
	w := &Workers{Log: slog.New(slog.NewJSONHandler(logs, nil))}
	job := &rivertype.JobRow{ID: 3, Kind: "comment", Attempt: 2, MaxAttempts: 25}

	w.logResult(context.Background(), job, w.outcome(job.Kind, []any{"issue", 12}, fmt.Errorf("loading request 7: %w", store.ErrNotFound)))
	w.logResult(context.Background(), job, river.JobCancel(errors.New("unknown check")))

	entries := logs.entries(t)
	require.Len(t, entries, 2)
	assert.Equal(t, "loading request 7: not found", entries[0]["error"], "the cause is logged, not River's cancel wrapper")
	assert.Equal(t, 12.0, entries[0]["issue"])
	assert.Equal(t, "unknown check", entries[1]["error"])
}

func TestShutdownInterruptionNotLoggedAsFailure(t *testing.T) {
	logs := &lockedBuffer{}
	w := &Workers{Log: slog.New(slog.NewJSONHandler(logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.logResult(ctx, &rivertype.JobRow{ID: 4, Kind: "comment", Attempt: 1, MaxAttempts: 25}, context.Canceled)
	assert.Empty(t, logs.entries(t), "River retries a run cut short by its stop and logs it itself")
}

func TestFailedDriftCheckLoggedOnce(t *testing.T) {
	logs := &lockedBuffer{}
	missing := filepath.Join(t.TempDir(), "reference.csv")
	w := &Workers{Log: slog.New(slog.NewJSONHandler(logs, nil)),
		DriftChecks: []config.DriftCheck{{Model: "fraud-detector", Reference: missing, Current: "../testdata/drift/current.csv"}}}
	job := &river.Job[DriftCheckArgs]{JobRow: &rivertype.JobRow{ID: 9, Kind: DriftCheckArgs{}.Kind(), Attempt: 1, MaxAttempts: 25}}

	err := w.driftCheck(context.Background(), job)
	var cancel *river.JobCancelError
	require.ErrorAs(t, err, &cancel, "a check that cannot read its files is cancelled")
	w.logResult(context.Background(), job.JobRow, err)

	entries := logs.entries(t)
	require.Len(t, entries, 1, "one line for the failure: %v", entries)
	assert.Equal(t, "ERROR", entries[0]["level"])
	assert.Equal(t, "job failed; cancelled", entries[0]["msg"])
	assert.Equal(t, "fraud-detector", entries[0]["model"])
	assert.Contains(t, entries[0]["error"], "drift check of fraud-detector")
}

func TestDriftCheckWithoutCurrentFileSkips(t *testing.T) {
	logs := &lockedBuffer{}
	later := filepath.Join(t.TempDir(), "current.csv")
	w := &Workers{Log: slog.New(slog.NewJSONHandler(logs, nil)),
		DriftChecks: []config.DriftCheck{{Model: "fraud-detector", Reference: "../testdata/drift/reference.csv", Current: later, Every: "24h"}}}
	job := &river.Job[DriftCheckArgs]{JobRow: &rivertype.JobRow{ID: 9, Kind: DriftCheckArgs{}.Kind(), Attempt: 1, MaxAttempts: 25}}

	require.NoError(t, w.driftCheck(context.Background(), job), "the next period's check reads the file again")

	entries := logs.entries(t)
	require.Len(t, entries, 1)
	assert.Equal(t, "WARN", entries[0]["level"])
	assert.Equal(t, "drift check skipped: the current data file does not exist yet", entries[0]["msg"])
	assert.Equal(t, later, entries[0]["current"])
}
