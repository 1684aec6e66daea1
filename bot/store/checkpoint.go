package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// The checkpointer's schedule. Every checkpointInterval it copies the WAL's
// new frames into the database file with a PASSIVE checkpoint, which
// never blocks a writer. Under a steady stream of commits such a
// checkpoint seldom finds the whole WAL copied, so SQLite seldom starts the
// WAL file again from its beginning and the file grows. When a PASSIVE
// checkpoint leaves more than walRestartFrames frames in the WAL, a
// RESTART checkpoint copies the few frames still new while it holds the
// writers back, and the next commit writes the WAL from its start.
//
// That RESTART does not wait: when a writer or a reader is busy, it
// returns at once and the next tick tries again, because a RESTART that
// waits for a reader holds the write lock, and every acknowledgement
// with it, while SQLite's busy handler sleeps. Only when the WAL passes
// walForceRestartFrames does a RESTART wait, for up to
// checkpointBusyTimeoutMS. A forced RESTART that still finds the database
// busy, because a reader keeps its snapshot, is not forced again for
// forcedRestartBackoff, so the write lock is held for at most
// checkpointBusyTimeoutMS of every forcedRestartBackoff.
const (
	checkpointInterval = 10 * time.Millisecond
	// walRestartFrames is about 40 MB of WAL at SQLite's default page
	// size of 4 KiB.
	walRestartFrames      = 10000
	walForceRestartFrames = 4 * walRestartFrames
	// checkpointBusyTimeoutMS bounds, in milliseconds, how long a forced
	// RESTART checkpoint waits for the writer and the readers.
	checkpointBusyTimeoutMS = 1000
	// forcedRestartBackoff is how long after a forced RESTART that found
	// the database busy the next one waits. The RESTARTs without a wait
	// go on at every tick.
	forcedRestartBackoff = 10 * time.Second
	// checkpointLogEvery bounds how often a failing checkpoint is logged.
	checkpointLogEvery = time.Minute
)

// checkpointer checkpoints the WAL of a database file from a goroutine of
// its own, on connections of its own. The edge's connections run no
// automatic checkpoint, because one ran inside a batch's COMMIT and
// every acknowledgement of the batch and of the deliveries queued behind
// it waited the 2-9 ms of its page copies and fsyncs. The shared main
// connection keeps SQLite's automatic checkpoint as well, so the WAL is
// still checkpointed should this goroutine fall behind.
type checkpointer struct {
	// pool has no busy timeout, and waiting has checkpointBusyTimeoutMS,
	// for the forced RESTART.
	pool    *sql.DB
	waiting *sql.DB
	log     atomic.Pointer[slog.Logger]

	stop     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup

	// Counts, for tests and the logs.
	passive  atomic.Int64
	restarts atomic.Int64
	// deferred counts the RESTART checkpoints that found the database
	// busy and were left to the next tick.
	deferred atomic.Int64
	failures atomic.Int64

	lastLogged time.Time // of a failure; used by run's goroutine only
	// nextForce is the earliest time of the next forced RESTART; used by
	// run's goroutine only.
	nextForce time.Time
}

// startCheckpointer opens its connections to the database at path and starts
// checkpointing its WAL.
func startCheckpointer(path string) (*checkpointer, error) {
	pool, err := openCheckpointPool(path, 0)
	if err != nil {
		return nil, err
	}
	waiting, err := openCheckpointPool(path, checkpointBusyTimeoutMS)
	if err != nil {
		pool.Close()
		return nil, err
	}
	c := &checkpointer{pool: pool, waiting: waiting, stop: make(chan struct{})}
	c.log.Store(slog.New(slog.DiscardHandler))
	c.done.Add(1)
	go c.run()
	return c, nil
}

// openCheckpointPool opens one connection to the database at path with
// the given busy timeout in milliseconds.
func openCheckpointPool(path string, busyTimeoutMS int) (*sql.DB, error) {
	connector, err := sqlite.NewConnector(dsnWithBusyTimeout(path, busyTimeoutMS))
	if err != nil {
		return nil, fmt.Errorf("opening the checkpoint connection to %s: %w", path, err)
	}
	pool := sql.OpenDB(connector)
	pool.SetMaxOpenConns(1)
	return pool, nil
}

func (c *checkpointer) run() {
	defer c.done.Done()
	ticker := time.NewTicker(checkpointInterval)
	defer ticker.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-ticker.C:
			if err := c.checkpoint(context.Background()); err != nil {
				c.failed(err)
			}
		}
	}
}

// checkpoint runs one PASSIVE checkpoint, and a RESTART checkpoint when
// the WAL has grown past walRestartFrames.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	_, frames, err := c.walCheckpoint(ctx, c.pool, "PASSIVE")
	if err != nil {
		return err
	}
	c.passive.Add(1)
	if frames <= walRestartFrames {
		return nil
	}
	pool := c.pool
	if frames > walForceRestartFrames && !time.Now().Before(c.nextForce) {
		pool = c.waiting
	}
	busy, _, err := c.walCheckpoint(ctx, pool, "RESTART")
	if err != nil {
		return err
	}
	switch {
	case !busy:
		c.restarts.Add(1)
	case pool == c.waiting:
		c.nextForce = time.Now().Add(forcedRestartBackoff)
		return fmt.Errorf("RESTART checkpoint: the database stayed busy for %d ms with %d frames in the WAL; the next forced RESTART is in %s",
			checkpointBusyTimeoutMS, frames, forcedRestartBackoff)
	default:
		c.deferred.Add(1)
	}
	return nil
}

// walCheckpoint runs PRAGMA wal_checkpoint(mode) on pool. It reports
// whether the checkpoint could not get the locks it needed and the number
// of frames in the WAL.
func (c *checkpointer) walCheckpoint(ctx context.Context, pool *sql.DB, mode string) (busy bool, frames int, err error) {
	var busyFlag, copied int
	if err := pool.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busyFlag, &frames, &copied); err != nil {
		return false, 0, fmt.Errorf("%s checkpoint: %w", mode, err)
	}
	return busyFlag != 0, frames, nil
}

// failed counts a failed checkpoint and logs it, at most once every
// checkpointLogEvery.
func (c *checkpointer) failed(err error) {
	n := c.failures.Add(1)
	if now := time.Now(); now.Sub(c.lastLogged) >= checkpointLogEvery {
		c.lastLogged = now
		c.log.Load().Warn("WAL checkpoint failed; SQLite's automatic checkpoint on the main connection still runs",
			"error", err, "failures", n)
	}
}

// close stops the goroutine and closes the connection. Calls after the
// first do nothing more.
func (c *checkpointer) close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.done.Wait()
	return errors.Join(c.pool.Close(), c.waiting.Close())
}
