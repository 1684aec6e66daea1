package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// DB is the bot's SQLite database: its own tables, migrated by goose, and
// River's job tables, migrated by rivermigrate.
type DB struct {
	SQL *sql.DB
	// edge is a second pool on the same file for the HTTP edge's short
	// insert transactions, so an acknowledgement does not wait in Go for
	// the one connection the queue and workers share. beginEdgeTx waits
	// for SQLite's write lock. Its connections keep their prepared
	// statements (see cachingConnector) and keep statement journals in
	// memory (temp_store MEMORY), because River's multi-row job insert
	// writes one.
	edge *sql.DB
	// checkpoints is the WAL checkpointer that replaces the edge's
	// automatic checkpoint, or nil for an in-memory database.
	checkpoints *checkpointer
	now         func() time.Time
	onClose     []func() error
}

// Open opens (creating if needed) the database at path and applies every
// pending migration. Use ":memory:" only for a single-connection test.
func Open(ctx context.Context, path string) (*DB, error) {
	connector, err := sqlite.NewConnector(dsn(path))
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	// The connection keeps its prepared statements, as the edge's do.
	// Without them modernc.org/sqlite parses River's long queries on every
	// call, and a River transaction held the write lock for 10-20 ms while
	// it did, which the edge's acknowledgements waited out.
	db := sql.OpenDB(cachingConnector{Connector: connector, maxStatements: maxMainStatements})
	// River's SQLite driver needs a single connection; SQLite serializes
	// writers anyway.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	store := &DB{SQL: db, now: time.Now}
	if err := store.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if path != ":memory:" {
		// busy_timeout 0: the edge waits for the write lock itself, in
		// beginEdgeTx.
		connector, err := sqlite.NewConnector(dsnWithBusyTimeout(path, 0, "temp_store(MEMORY)", "wal_autocheckpoint(0)"))
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("opening database %s: %w", path, err)
		}
		edge := sql.OpenDB(cachingConnector{Connector: connector, maxStatements: maxEdgeStatements})
		edge.SetMaxOpenConns(4)
		store.edge = edge
		if store.checkpoints, err = startCheckpointer(path); err != nil {
			edge.Close()
			db.Close()
			return nil, err
		}
	}
	return store, nil
}

// InEdgeTx runs fn in one IMMEDIATE transaction on the edge's pool, or on
// the shared connection when the database is in memory.
func (db *DB) InEdgeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	pool := db.edge
	if pool == nil {
		return db.InTx(ctx, fn)
	}
	tx, err := beginEdgeTx(ctx, pool)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// The edge's wait for the write lock: it tries again after edgeBusyPoll,
// doubled after each try up to edgeBusyPollMax, for at most edgeBusyTimeout,
// the busy_timeout of the store's other connections.
const (
	edgeBusyPoll    = 50 * time.Microsecond
	edgeBusyPollMax = time.Millisecond
	edgeBusyTimeout = 5 * time.Second
)

// beginEdgeTx begins an IMMEDIATE transaction on pool, waiting while
// another connection holds the write lock. SQLite's own busy handler
// sleeps 1, 2, 5, 10 ms and longer between its tries, so a lock held for
// 1.5 ms cost a waiting acknowledgement 3 ms, and one held for 9 ms cost
// 18 ms. Trying again every 50 µs to 1 ms follows the release closely.
func beginEdgeTx(ctx context.Context, pool *sql.DB) (*sql.Tx, error) {
	deadline := time.Now().Add(edgeBusyTimeout)
	poll := edgeBusyPoll
	for {
		tx, err := pool.BeginTx(ctx, nil)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return tx, err
		}
		timer := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
		poll = min(2*poll, edgeBusyPollMax)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY, or one of its
// extended codes, because another connection holds a lock.
func isBusy(err error) bool {
	var sqliteErr *sqlite.Error
	return errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqlite3.SQLITE_BUSY
}

// dsn returns the data source name of the database at path with the
// store's pragmas and any extra ones.
func dsn(path string, extra ...string) string {
	return dsnWithBusyTimeout(path, 5000, extra...)
}

// dsnWithBusyTimeout returns dsn's data source name with SQLite's busy
// timeout set to timeoutMS milliseconds.
func dsnWithBusyTimeout(path string, timeoutMS int, extra ...string) string {
	query := url.Values{}
	pragmas := []string{"journal_mode(WAL)", "synchronous(NORMAL)", fmt.Sprintf("busy_timeout(%d)", timeoutMS), "foreign_keys(1)"}
	for _, pragma := range append(pragmas, extra...) {
		query.Add("_pragma", pragma)
	}
	query.Set("_txlock", "immediate")
	return "file:" + path + "?" + query.Encode()
}

func (db *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("reading migrations: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, db.SQL, sub)
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}

	migrator, err := rivermigrate.New(riversqlite.New(db.SQL), nil)
	if err != nil {
		return fmt.Errorf("preparing job queue migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("applying job queue migrations: %w", err)
	}
	return nil
}

// OpenExisting opens a database that must already exist and be migrated,
// read-only, for commands that inspect it such as the audit export. It
// never creates a file or applies a migration.
func OpenExisting(ctx context.Context, path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("database %s: %w; give the path of the bot's database with --database", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	store := &DB{SQL: db, now: time.Now}
	if err := store.Ready(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s is not a migrated sopbot database: %w", path, err)
	}
	return store, nil
}

// Close closes the database.
func (db *DB) Close() error {
	if db.checkpoints != nil {
		_ = db.checkpoints.close()
		db.checkpoints = nil
	}
	if db.edge != nil {
		_ = db.edge.Close()
	}
	err := db.SQL.Close()
	for _, fn := range db.onClose {
		err = errors.Join(err, fn())
	}
	db.onClose = nil
	return err
}

// OnClose registers fn to run after Close has closed the database, such
// as the release of a lock that LockServe took.
func (db *DB) OnClose(fn func() error) { db.onClose = append(db.onClose, fn) }

// SetLogger sets the logger of the store's background work, the WAL
// checkpoints. Without it their failures are not logged.
func (db *DB) SetLogger(log *slog.Logger) {
	if db.checkpoints != nil {
		db.checkpoints.log.Store(log)
	}
}

// SetClock replaces the clock used for timestamps, for tests.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Now returns the store's current time in UTC.
func (db *DB) Now() time.Time { return db.now().UTC() }

// Ready reports whether the database responds and every migration is applied.
func (db *DB) Ready(ctx context.Context) error {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return err
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, db.SQL, sub)
	if err != nil {
		return fmt.Errorf("reading migration state: %w", err)
	}
	pending, err := provider.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("reading migration state: %w", err)
	}
	if pending {
		return errors.New("database has pending migrations")
	}
	return nil
}

// InTx runs fn in one IMMEDIATE transaction and commits when fn returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Backup writes a consistent copy of the database to path with VACUUM
// INTO, which reads one snapshot while the bot goes on writing. path must
// not exist yet.
func (db *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backing up to %s: the file exists; choose a new path", path)
	}
	if _, err := db.SQL.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("backing up to %s: %w", path, err)
	}
	return nil
}
