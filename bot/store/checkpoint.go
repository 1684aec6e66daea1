package store

import (
	"context"
	"database/sql"
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
const (
	checkpointInterval = 10 * time.Millisecond
	// walRestartFrames is about 40 MB of WAL at SQLite's default page
	// size of 4 KiB.
	walRestartFrames = 10000
	// checkpointBusyTimeoutMS bounds, in milliseconds, how long a RESTART
	// checkpoint waits for the writer and the readers before the next
	// tick tries again.
	checkpointBusyTimeoutMS = 1000
	// checkpointLogEvery bounds how often a failing checkpoint is logged.
	checkpointLogEvery = time.Minute
)

// checkpointer checkpoints the WAL of a database file from a goroutine of
// its own, on a connection of its own. The edge's connections run no
// automatic checkpoint, because one ran inside a batch's COMMIT and
// every acknowledgement of the batch and of the deliveries queued behind
// it waited the 2-9 ms of its page copies and fsyncs. The shared main
// connection keeps SQLite's automatic checkpoint as well, so the WAL is
// still checkpointed should this goroutine fall behind.
type checkpointer struct {
	pool *sql.DB
	log  atomic.Pointer[slog.Logger]

	stop     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup

	// Counts, for tests and the logs.
	passive  atomic.Int64
	restarts atomic.Int64
	failures atomic.Int64

	lastLogged time.Time // of a failure; used by run's goroutine only
}

// startCheckpointer opens a connection to the database at path and starts
// checkpointing its WAL.
func startCheckpointer(path string) (*checkpointer, error) {
	connector, err := sqlite.NewConnector(dsnWithBusyTimeout(path, checkpointBusyTimeoutMS))
	if err != nil {
		return nil, fmt.Errorf("opening the checkpoint connection to %s: %w", path, err)
	}
	pool := sql.OpenDB(connector)
	pool.SetMaxOpenConns(1)
	c := &checkpointer{pool: pool, stop: make(chan struct{})}
	c.log.Store(slog.New(slog.DiscardHandler))
	c.done.Add(1)
	go c.run()
	return c, nil
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
	frames, err := c.walCheckpoint(ctx, "PASSIVE")
	if err != nil {
		return err
	}
	c.passive.Add(1)
	if frames <= walRestartFrames {
		return nil
	}
	if _, err := c.walCheckpoint(ctx, "RESTART"); err != nil {
		return err
	}
	c.restarts.Add(1)
	return nil
}

// walCheckpoint runs PRAGMA wal_checkpoint(mode) and returns the number of frames in the WAL
// before it ran. A checkpoint that could not get the locks it needs
// within the busy timeout is an error.
func (c *checkpointer) walCheckpoint(ctx context.Context, mode string) (int, error) {
	var busy, frames, copied int
	err := c.pool.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	if err != nil {
		return 0, fmt.Errorf("%s checkpoint: %w", mode, err)
	}
	if busy != 0 && mode != "PASSIVE" {
		return frames, fmt.Errorf("%s checkpoint: the database stayed busy for %d ms (%d of %d WAL frames copied)",
			mode, checkpointBusyTimeoutMS, copied, frames)
	}
	return frames, nil
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
	return c.pool.Close()
}
