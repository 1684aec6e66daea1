package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeEdgeDeliveries stores n deliveries of a 16 KB payload through the
// edge, one transaction each.
func storeEdgeDeliveries(t *testing.T, db *DB, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	payload := bytes.Repeat([]byte("x"), 16<<10)
	for i := range n {
		err := db.InEdgeTx(ctx, func(tx *sql.Tx) error {
			_, err := db.InsertDelivery(ctx, tx, Delivery{ID: fmt.Sprintf("%s-%d", prefix, i), Source: "github", Event: "issues", Payload: payload})
			return err
		})
		require.NoError(t, err)
	}
}

func TestEdgeHasNoAutomaticCheckpoint(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	withCachingConn(t, db, func(conn *sql.Conn, _ *cachingConn) {
		var pages int
		require.NoError(t, conn.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&pages))
		assert.Equal(t, 0, pages, "the edge's connections leave checkpoints to the checkpointer")
	})
	var mainPages int
	require.NoError(t, db.SQL.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&mainPages))
	assert.Equal(t, 1000, mainPages, "the main connection keeps SQLite's default")
}

func TestCheckpointerCopiesEdgeCommits(t *testing.T) {
	db, path := openFileDB(t)
	before, err := os.Stat(path)
	require.NoError(t, err)

	// About 100 WAL frames: too few for the main connection's automatic
	// checkpoint, and the edge's connections run none, so only the
	// checkpointer copies them into the database file.
	storeEdgeDeliveries(t, db, "edge", 20)

	require.Eventually(t, func() bool {
		after, err := os.Stat(path)
		return err == nil && after.Size() >= before.Size()+20*16<<10
	}, 5*time.Second, 5*time.Millisecond, "the database file grows by the copied pages")
	assert.Positive(t, db.checkpoints.passive.Load(), "PASSIVE checkpoints")
	assert.Zero(t, db.checkpoints.failures.Load(), "failed checkpoints")
}

// walState returns the frames in the WAL and how many of them are
// copied into the database file, from a PASSIVE checkpoint on the main
// connection.
func walState(t *testing.T, db *DB) (frames, copied int) {
	t.Helper()
	var busy int
	require.NoError(t, db.SQL.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied))
	return frames, copied
}

// manualCheckpointer stops db's checkpointer goroutine and returns a
// checkpointer on the same file whose checkpoints the test runs itself.
// Its forced RESTART waits waitingMS milliseconds.
func manualCheckpointer(t *testing.T, db *DB, path string, waitingMS int) *checkpointer {
	t.Helper()
	require.NoError(t, db.checkpoints.close())
	db.checkpoints = nil
	pool, err := openCheckpointPool(path, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = pool.Close() })
	waiting, err := openCheckpointPool(path, waitingMS)
	require.NoError(t, err)
	t.Cleanup(func() { _ = waiting.Close() })
	c := &checkpointer{pool: pool, waiting: waiting}
	c.log.Store(slog.New(slog.DiscardHandler))
	return c
}

func TestCheckpointerRestartsLongWAL(t *testing.T) {
	db, path := openFileDB(t)
	c := manualCheckpointer(t, db, path, checkpointBusyTimeoutMS)

	// About 2,200 deliveries of five pages each pass walRestartFrames.
	storeEdgeDeliveries(t, db, "long", walRestartFrames/5+200)
	require.NoError(t, c.checkpoint(context.Background()))
	assert.Equal(t, int64(1), c.restarts.Load(), "RESTART checkpoints")
	assert.Zero(t, c.deferred.Load(), "deferred RESTART checkpoints")

	// The next commit writes the WAL from its start.
	storeEdgeDeliveries(t, db, "after", 1)
	frames, _ := walState(t, db)
	assert.Less(t, frames, 100, "frames in the WAL after the restart")
}

func TestCheckpointerLogsFailureOnce(t *testing.T) {
	var logs strings.Builder
	c := &checkpointer{}
	c.log.Store(slog.New(slog.NewTextHandler(&logs, nil)))

	c.failed(fmt.Errorf("RESTART checkpoint: disk I/O error"))
	c.failed(fmt.Errorf("RESTART checkpoint: disk I/O error"))

	assert.Equal(t, int64(2), c.failures.Load(), "failures counted")
	assert.Equal(t, 1, strings.Count(logs.String(), "WAL checkpoint failed"), "logged once a minute")
	assert.Contains(t, logs.String(), "disk I/O error")
}

func TestCloseStopsCheckpointer(t *testing.T) {
	db, path := openFileDB(t)
	storeEdgeDeliveries(t, db, "close", 5)
	checkpoints := db.checkpoints

	require.NoError(t, db.Close())

	assert.Error(t, checkpoints.pool.PingContext(context.Background()), "the checkpoint connection is closed")
	_, err := os.Stat(path + "-wal")
	assert.True(t, os.IsNotExist(err), "closing the last connection checkpoints and removes the WAL: %v", err)
}

func TestCheckpointerDefersRestartWhileRead(t *testing.T) {
	db, path := openFileDB(t)
	c := manualCheckpointer(t, db, path, 50)
	storeEdgeDeliveries(t, db, "read", walRestartFrames/5+200)

	// A read transaction on the main connection keeps using the WAL.
	ctx := context.Background()
	read, err := db.SQL.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	defer func() { _ = read.Rollback() }()
	var n int
	require.NoError(t, read.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries`).Scan(&n))
	storeEdgeDeliveries(t, db, "more", 1)

	require.NoError(t, c.checkpoint(ctx), "a busy RESTART is no failure")
	assert.Equal(t, int64(1), c.deferred.Load(), "deferred RESTART checkpoints")
	assert.Zero(t, c.restarts.Load(), "RESTART checkpoints")
}

func TestCheckpointerBacksOffForcedRestart(t *testing.T) {
	db, path := openFileDB(t)
	c := manualCheckpointer(t, db, path, 50)

	// A reader in another process, such as an audit export, keeps its
	// snapshot while the WAL passes walForceRestartFrames.
	ctx := context.Background()
	reader, err := sql.Open("sqlite", dsn(path))
	require.NoError(t, err)
	defer reader.Close()
	read, err := reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	defer func() { _ = read.Rollback() }()
	var n int
	require.NoError(t, read.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries`).Scan(&n))
	storeEdgeDeliveries(t, db, "long", walForceRestartFrames/5+200)

	require.Error(t, c.checkpoint(ctx), "the forced RESTART waits and fails")
	// A forced RESTART holds the write lock while it waits, so one at
	// every tick would hold it nearly all the time.
	require.NoError(t, c.checkpoint(ctx), "the next tick does not force again")
	assert.Equal(t, int64(1), c.deferred.Load(), "deferred RESTART checkpoints")
	assert.Zero(t, c.restarts.Load(), "RESTART checkpoints")
}
