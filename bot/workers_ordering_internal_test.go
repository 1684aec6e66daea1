package bot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
)

// orderingNormalizer turns every delivery into no event, records the
// order it was called in, and fails the deliveries in failing.
type orderingNormalizer struct {
	mu      sync.Mutex
	calls   []string
	failing map[string]bool
	// failure wraps the error of a failing delivery, when it is set.
	failure error
}

func (n *orderingNormalizer) Normalize(_ context.Context, d store.Delivery) (Event, string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, d.ID)
	if n.failing[d.ID] && n.failure != nil {
		return nil, "", fmt.Errorf("normalizing %s failed: %w", d.ID, n.failure)
	}
	if n.failing[d.ID] {
		return nil, "", errors.New("normalizing " + d.ID + " failed")
	}
	return nil, "ignored by the test", nil
}

func (n *orderingNormalizer) order() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.calls)
}

// orderingSubject is the issue both test deliveries are about.
const orderingSubject = "issue:7"

// newOrderingWorkers returns workers on a fresh database that holds three
// unprocessed deliveries about one issue, "first", "second" and "third",
// with a normalizer that fails the deliveries named in failing.
func newOrderingWorkers(t *testing.T, failing ...string) (*Workers, *store.DB, *orderingNormalizer) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	for _, id := range []string{"first", "second", "third"} {
		require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := db.InsertDelivery(ctx, tx, store.Delivery{ID: id, Source: "github", Event: "issue_comment",
				Subject: orderingSubject, Payload: []byte(`{}`)})
			return err
		}))
	}
	normalizer := &orderingNormalizer{failing: map[string]bool{}}
	for _, id := range failing {
		normalizer.failing[id] = true
	}
	engine := &Engine{DB: db, Log: slog.New(slog.DiscardHandler)}
	return &Workers{Engine: engine, Normalizer: normalizer, Log: engine.Log}, db, normalizer
}

func processed(t *testing.T, db *store.DB, id string) bool {
	t.Helper()
	var d store.Delivery
	require.NoError(t, db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		d, err = db.GetDelivery(context.Background(), tx, id)
		return err
	}))
	return !d.ProcessedAt.IsZero()
}

// deliveryJob is the processing job of delivery id as River passes it
// after the given number of snoozes. River gives the attempt back at each
// snooze, so the attempt stays 1.
func deliveryJob(id string, snoozes int) *river.Job[ProcessDeliveryArgs] {
	return &river.Job[ProcessDeliveryArgs]{
		JobRow: &rivertype.JobRow{ID: 1, Kind: ProcessDeliveryArgs{}.Kind(), Attempt: 1, MaxAttempts: 25,
			Metadata: fmt.Appendf(nil, `{"snoozes": %d}`, snoozes)},
		Args: ProcessDeliveryArgs{DeliveryID: id},
	}
}

func TestDeliveryProcessesEarlierOnesFirst(t *testing.T) {
	w, db, normalizer := newOrderingWorkers(t)

	require.NoError(t, w.processDelivery(context.Background(), deliveryJob("third", 0)))

	assert.Equal(t, []string{"first", "second", "third"}, normalizer.order(), "processed in arrival order")
	for _, id := range []string{"first", "second", "third"} {
		assert.True(t, processed(t, db, id), "%s is processed", id)
	}
}

func TestDeliveryAlreadyProcessedByLaterOne(t *testing.T) {
	w, db, normalizer := newOrderingWorkers(t)
	ctx := context.Background()
	require.NoError(t, w.processDelivery(ctx, deliveryJob("second", 0)))

	require.NoError(t, w.processDelivery(ctx, deliveryJob("first", 0)), "the first delivery's own job")

	assert.Equal(t, []string{"first", "second"}, normalizer.order(), "each delivery is normalized once")
	assert.False(t, processed(t, db, "third"), "a later delivery waits for its own job")
}

func TestDeliveryWaitsForFailingEarlierOne(t *testing.T) {
	w, db, _ := newOrderingWorkers(t, "first")
	ctx := context.Background()

	for _, snoozes := range []int{0, maxOrderingWaits - 1} {
		err := w.processDelivery(ctx, deliveryJob("second", snoozes))
		var snooze *river.JobSnoozeError
		require.ErrorAs(t, err, &snooze, "after %d snoozes the delivery still waits", snoozes)
		assert.Equal(t, orderingWait, snooze.Duration)
		assert.False(t, processed(t, db, "second"), "after %d snoozes the delivery is not processed", snoozes)
	}

	require.NoError(t, w.processDelivery(ctx, deliveryJob("second", maxOrderingWaits)))
	assert.True(t, processed(t, db, "second"), "after the last wait the delivery goes ahead")
	assert.False(t, processed(t, db, "first"), "the earlier delivery is still unprocessed")
}

func TestDeliveryWithoutEarlierOneDoesNotWait(t *testing.T) {
	w, db, normalizer := newOrderingWorkers(t)
	require.NoError(t, w.processDelivery(context.Background(), deliveryJob("first", 0)))
	assert.True(t, processed(t, db, "first"))
	assert.Equal(t, []string{"first"}, normalizer.order(), "only the first delivery is processed")
}

func TestDeliveryLockWaitsForContext(t *testing.T) {
	w, db, _ := newOrderingWorkers(t)
	unlock, err := w.lockSubject(context.Background(), orderingSubject)
	require.NoError(t, err)
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()

	err = w.processDelivery(ctx, deliveryJob("first", 0))

	require.ErrorIs(t, err, context.DeadlineExceeded, "another job holds the issue's deliveries")
	assert.False(t, processed(t, db, "first"))
}

// TestDeliveryGoesAheadAfterRiverSnoozes runs the bound on a failing
// earlier delivery through River itself, so it fails if River stops counting snoozes where snoozeCount
// reads them. The job starts two snoozes short of the bound to keep the
// run short.
func TestDeliveryGoesAheadAfterRiverSnoozes(t *testing.T) {
	w, db, _ := newOrderingWorkers(t, "first")
	ctx := context.Background()
	workers := river.NewWorkers()
	river.AddWorker(workers, counted(w, w.processDelivery))
	client, err := river.NewClient(riversqlite.New(db.SQL), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 10 * time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	inserted, err := client.Insert(ctx, ProcessDeliveryArgs{DeliveryID: "second"},
		&river.InsertOpts{Metadata: fmt.Appendf(nil, `{"snoozes": %d}`, maxOrderingWaits-2)})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stop)
	})

	var job *rivertype.JobRow
	require.Eventually(t, func() bool {
		job, err = client.JobGet(ctx, inserted.Job.ID)
		return err == nil && job.State == rivertype.JobStateCompleted
	}, 20*time.Second, 10*time.Millisecond, "the delivery's job completes")
	assert.True(t, processed(t, db, "second"), "the delivery is processed")
	assert.False(t, processed(t, db, "first"), "the earlier delivery is still unprocessed")
	assert.Equal(t, maxOrderingWaits, snoozeCount(job), "the job waited exactly up to the bound")
	assert.Equal(t, 1, job.Attempt, "River does not count snoozes as attempts")
}

func TestDeliveryGoingAheadKeepsLaterOrder(t *testing.T) {
	w, db, normalizer := newOrderingWorkers(t, "first")

	require.NoError(t, w.processDelivery(context.Background(), deliveryJob("third", maxOrderingWaits)))

	assert.Equal(t, []string{"first", "second", "third"}, normalizer.order(),
		"only the failing delivery is passed over")
	assert.False(t, processed(t, db, "first"), "the failing delivery is unprocessed")
	assert.True(t, processed(t, db, "second"), "the delivery after the failing one is processed")
	assert.True(t, processed(t, db, "third"), "the job's own delivery is processed")
}

func TestDeliveryPassesOverPermanentFailure(t *testing.T) {
	w, db, normalizer := newOrderingWorkers(t, "first")
	// store.ErrNotFound is a permanent error, so River cancels the first
	// delivery's own job and no later attempt can process it.
	normalizer.failure = store.ErrNotFound

	require.NoError(t, w.processDelivery(context.Background(), deliveryJob("second", 0)))

	assert.Equal(t, []string{"first", "second"}, normalizer.order(), "the failing delivery is tried once")
	assert.False(t, processed(t, db, "first"), "the failing delivery is unprocessed")
	assert.True(t, processed(t, db, "second"), "the job's own delivery goes ahead at once")
}
