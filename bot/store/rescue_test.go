package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
)

// rescueArgs is a job kind that the test's rescue handles, and orphanArgs
// one that it does not.
type rescueArgs struct {
	Name string `json:"name"`
}

func (rescueArgs) Kind() string { return "rescue_test" }

type orphanArgs struct{}

func (orphanArgs) Kind() string { return "orphan" }

const rescueReason = "the process running this job stopped"

// insertRunning inserts a job through River and leaves it as a killed
// process would: running, attempted long ago. extra is SQL that sets more
// columns.
func insertRunning(t *testing.T, db *store.DB, client *river.Client[*sql.Tx], args river.JobArgs, attempt, maxAttempts int, extra string) int64 {
	t.Helper()
	inserted, err := client.Insert(context.Background(), args, &river.InsertOpts{MaxAttempts: maxAttempts})
	require.NoError(t, err)
	_, err = db.SQL.Exec(`UPDATE river_job SET state = 'running', attempt = ?,
		attempted_at = '2000-01-01 00:00:00.000', attempted_by = jsonb('["stopped-client"]')`+extra+` WHERE id = ?`,
		attempt, inserted.Job.ID)
	require.NoError(t, err)
	return inserted.Job.ID
}

func TestRescueRunningJobs(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	db.SetClock(func() time.Time { return now })
	client, err := river.NewClient(riversqlite.New(db.SQL), &river.Config{})
	require.NoError(t, err)

	retried := insertRunning(t, db, client, rescueArgs{Name: "retried"}, 1, 5,
		`, errors = jsonb('[{"at": "2000-01-01T00:00:00Z", "attempt": 0, "error": "earlier", "trace": ""}]')`)
	exhausted := insertRunning(t, db, client, rescueArgs{Name: "exhausted"}, 5, 5, "")
	cancelled := insertRunning(t, db, client, rescueArgs{Name: "cancelled"}, 1, 5,
		`, metadata = jsonb('{"cancel_attempted_at": "2000-01-01T00:00:01Z"}')`)
	orphan := insertRunning(t, db, client, orphanArgs{}, 1, 5, "")
	waiting, err := client.Insert(ctx, rescueArgs{Name: "waiting"}, nil)
	require.NoError(t, err)

	handled := func(kind string) bool { return kind == rescueArgs{}.Kind() }
	result, err := db.RescueRunningJobs(ctx, handled, rescueReason)
	require.NoError(t, err)
	assert.Equal(t, store.RescueResult{Available: 1, Discarded: 2, Cancelled: 1}, result)
	assert.Equal(t, 4, result.Total())

	// River itself reads every row back, so a column written in a format
	// River cannot parse fails here.
	job, err := client.JobGet(ctx, retried)
	require.NoError(t, err)
	assert.Equal(t, rivertype.JobStateAvailable, job.State, "a job with attempts left runs again")
	assert.True(t, job.ScheduledAt.Equal(now), "it runs now, not after a backoff: scheduled at %s", job.ScheduledAt)
	assert.Nil(t, job.FinalizedAt)
	assert.Equal(t, 1, job.Attempt, "the interrupted attempt counts, as in River's rescuer")
	require.Len(t, job.Errors, 2, "the rescue appends to the earlier errors")
	assert.Equal(t, "earlier", job.Errors[0].Error)
	assert.Equal(t, rescueReason, job.Errors[1].Error)
	assert.Equal(t, 1, job.Errors[1].Attempt)
	assert.True(t, job.Errors[1].At.Equal(now))
	var metadata map[string]any
	require.NoError(t, json.Unmarshal(job.Metadata, &metadata))
	assert.Equal(t, 1.0, metadata["river:rescue_count"], "the rescue is counted as River's driver counts it")

	job, err = client.JobGet(ctx, exhausted)
	require.NoError(t, err)
	assert.Equal(t, rivertype.JobStateDiscarded, job.State, "a job on its last attempt is discarded")
	require.NotNil(t, job.FinalizedAt)
	assert.True(t, job.FinalizedAt.Equal(now))
	require.Len(t, job.Errors, 1)
	assert.Equal(t, rescueReason, job.Errors[0].Error)

	job, err = client.JobGet(ctx, cancelled)
	require.NoError(t, err)
	assert.Equal(t, rivertype.JobStateCancelled, job.State, "a cancellation requested while it ran is carried out")
	assert.NotNil(t, job.FinalizedAt)

	job, err = client.JobGet(ctx, orphan)
	require.NoError(t, err)
	assert.Equal(t, rivertype.JobStateDiscarded, job.State, "a kind without a worker is discarded")

	job, err = client.JobGet(ctx, waiting.Job.ID)
	require.NoError(t, err)
	assert.Equal(t, rivertype.JobStateAvailable, job.State)
	assert.Empty(t, job.Errors, "a job that was not running is left alone")

	again, err := db.RescueRunningJobs(ctx, handled, rescueReason)
	require.NoError(t, err)
	assert.Zero(t, again.Total(), "nothing is left running")
}
