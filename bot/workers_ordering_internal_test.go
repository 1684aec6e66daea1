package bot

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
)

// ignoringNormalizer turns every delivery into no event.
type ignoringNormalizer struct{}

func (ignoringNormalizer) Normalize(context.Context, store.Delivery) (Event, string, error) {
	return nil, "ignored by the test", nil
}

// orderingSubject is the issue both test deliveries are about.
const orderingSubject = "issue:7"

// newOrderingWorkers returns workers on a fresh database that holds two
// unprocessed deliveries about one issue, "first" and then "second".
func newOrderingWorkers(t *testing.T) (*Workers, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	for _, id := range []string{"first", "second"} {
		require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := db.InsertDelivery(ctx, tx, store.Delivery{ID: id, Source: "github", Event: "issue_comment",
				Subject: orderingSubject, Payload: []byte(`{}`)})
			return err
		}))
	}
	engine := &Engine{DB: db, Log: slog.New(slog.DiscardHandler)}
	return &Workers{Engine: engine, Normalizer: ignoringNormalizer{}, Log: engine.Log}, db
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

func TestDeliveryWaitsForEarlierOneUpToBound(t *testing.T) {
	w, db := newOrderingWorkers(t)
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
	w, db := newOrderingWorkers(t)
	require.NoError(t, w.processDelivery(context.Background(), deliveryJob("first", 0)))
	assert.True(t, processed(t, db, "first"))
}

// TestDeliveryGoesAheadAfterRiverSnoozes runs the bound through River
// itself, so it fails if River stops counting snoozes where snoozeCount
// reads them. The job starts two snoozes short of the bound to keep the
// run short.
func TestDeliveryGoesAheadAfterRiverSnoozes(t *testing.T) {
	w, db := newOrderingWorkers(t)
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
