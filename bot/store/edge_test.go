package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openFileDB(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

// withCachingConn runs fn on one connection of the edge pool.
func withCachingConn(t *testing.T, db *DB, fn func(conn *sql.Conn, cache *cachingConn)) {
	t.Helper()
	withPoolConn(t, db.edge, fn)
}

// withPoolConn runs fn with one connection of pool and its statement
// cache.
func withPoolConn(t *testing.T, pool *sql.DB, fn func(conn *sql.Conn, cache *cachingConn)) {
	t.Helper()
	conn, err := pool.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	var cache *cachingConn
	require.NoError(t, conn.Raw(func(driverConn any) error {
		var ok bool
		cache, ok = driverConn.(*cachingConn)
		if !ok {
			return fmt.Errorf("connection is a %T, want *cachingConn", driverConn)
		}
		return nil
	}))
	fn(conn, cache)
}

func TestEdgePoolPragmas(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	withCachingConn(t, db, func(conn *sql.Conn, _ *cachingConn) {
		pragmas := map[string]string{
			"journal_mode": "wal",
			"synchronous":  "1", // NORMAL
			"temp_store":   "2", // MEMORY
			"busy_timeout": "0", // beginEdgeTx waits for the write lock
		}
		for name, want := range pragmas {
			var got string
			require.NoError(t, conn.QueryRowContext(ctx, `PRAGMA `+name).Scan(&got))
			assert.Equal(t, want, got, "PRAGMA %s", name)
		}
	})
}

func TestInsertDeliveriesReportsNewRows(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	delivery := func(id string) Delivery {
		return Delivery{ID: id, Source: "github", Event: "issues", Payload: []byte("{}")}
	}
	require.NoError(t, db.InEdgeTx(ctx, func(tx *sql.Tx) error {
		_, err := db.InsertDelivery(ctx, tx, delivery("github:old"))
		return err
	}))

	var fresh []bool
	require.NoError(t, db.InEdgeTx(ctx, func(tx *sql.Tx) error {
		var err error
		fresh, err = db.InsertDeliveries(ctx, tx, []Delivery{
			delivery("github:a"), delivery("github:old"), delivery("github:b"), delivery("github:a"),
		})
		return err
	}))

	assert.Equal(t, []bool{true, false, true, false}, fresh)
	total, _, err := db.CountDeliveries(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, total, "stored rows")
}

func TestStatementCacheKeepsOneStatementPerQuery(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	withCachingConn(t, db, func(conn *sql.Conn, cache *cachingConn) {
		const query = `SELECT ? + 1`
		for i := range 3 {
			var got int
			require.NoError(t, conn.QueryRowContext(ctx, query, i).Scan(&got))
			assert.Equal(t, i+1, got)
		}
		require.Contains(t, cache.stmts, query)
		assert.Len(t, cache.stmts, 1, "kept statements")
		assert.False(t, cache.stmts[query].busy.Load(), "statement freed after its rows closed")
	})
}

func TestStatementCacheRunsBusyQueryUncached(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	withCachingConn(t, db, func(conn *sql.Conn, cache *cachingConn) {
		const query = `SELECT value FROM json_each(?)`
		outer, err := conn.QueryContext(ctx, query, `[1,2]`)
		require.NoError(t, err)
		defer outer.Close()
		require.True(t, outer.Next())
		var first int
		require.NoError(t, outer.Scan(&first))

		// The same SQL again while the first rows are open.
		var inner int
		require.NoError(t, conn.QueryRowContext(ctx, query, `[7]`).Scan(&inner))

		require.True(t, outer.Next(), "the open rows go on after the second query")
		var second int
		require.NoError(t, outer.Scan(&second))
		assert.Equal(t, []int{1, 2}, []int{first, second}, "rows of the kept statement")
		assert.Equal(t, 7, inner, "row of the uncached run")
		assert.False(t, outer.Next())
		require.NoError(t, outer.Close())
		assert.False(t, cache.stmts[query].busy.Load(), "statement freed after its rows closed")
	})
}

func TestStatementCacheBounded(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	withCachingConn(t, db, func(conn *sql.Conn, cache *cachingConn) {
		for i := range maxEdgeStatements + 4 {
			var got int
			require.NoError(t, conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&got))
			assert.Equal(t, i, got)
		}
		assert.Len(t, cache.stmts, maxEdgeStatements, "kept statements")
		assert.Contains(t, cache.stmts, fmt.Sprintf(`SELECT %d`, maxEdgeStatements+3), "the newest statement is kept")
	})
}

func TestStatementCacheReportsSQLError(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	withCachingConn(t, db, func(conn *sql.Conn, cache *cachingConn) {
		_, err := conn.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no such table")
		assert.Empty(t, cache.stmts, "a statement that fails to prepare is not kept")
	})
}

// holdWriteLock begins a transaction on the main connection that holds
// SQLite's write lock until the caller ends it.
func holdWriteLock(t *testing.T, db *DB) *sql.Tx {
	t.Helper()
	ctx := context.Background()
	locked, err := db.SQL.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = locked.ExecContext(ctx, `INSERT INTO deliveries (id, source, event, payload, received_at) VALUES ('github:main', 'github', 'issues', x'', '')`)
	require.NoError(t, err)
	return locked
}

func TestEdgeBeginWaitsForWriteLock(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	// The main connection holds the write lock for 50 ms.
	locked := holdWriteLock(t, db)
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		released <- time.Now()
		_ = locked.Commit()
	}()

	err := db.InEdgeTx(ctx, func(tx *sql.Tx) error {
		_, err := db.InsertDelivery(ctx, tx, Delivery{ID: "github:edge", Source: "github", Event: "issues", Payload: []byte("{}")})
		return err
	})
	begun := time.Now()

	require.NoError(t, err)
	assert.False(t, begun.Before(<-released), "the edge transaction waited for the lock")
	total, _, err := db.CountDeliveries(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, total, "stored rows")
}

func TestMainConnectionKeepsStatements(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO deliveries (id, source, event, payload, received_at) VALUES ('github:main', 'github', 'issues', x'', '')`)
	require.NoError(t, err)
	withPoolConn(t, db.SQL, func(conn *sql.Conn, cache *cachingConn) {
		const query = `SELECT COUNT(*) FROM deliveries`
		for range 2 {
			var n int
			require.NoError(t, conn.QueryRowContext(ctx, query).Scan(&n))
			assert.Equal(t, 1, n)
		}
		assert.Contains(t, cache.stmts, query, "the query is kept")
		assert.Equal(t, maxMainStatements, cache.max, "bound of the main connection")
	})
}

func TestEdgeBeginStopsWithContext(t *testing.T) {
	db, _ := openFileDB(t)
	ctx := context.Background()
	locked := holdWriteLock(t, db)
	defer func() { _ = locked.Rollback() }()

	waiting, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err := db.InEdgeTx(waiting, func(tx *sql.Tx) error {
		t.Error("the transaction began while the main connection held the write lock")
		return nil
	})

	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestIsBusyOnWriteLock(t *testing.T) {
	db, path := openFileDB(t)
	ctx := context.Background()
	locked := holdWriteLock(t, db)
	defer func() { _ = locked.Rollback() }()
	other, err := sql.Open("sqlite", dsnWithBusyTimeout(path, 0))
	require.NoError(t, err)
	defer other.Close()

	_, err = other.BeginTx(ctx, nil)

	require.Error(t, err)
	assert.True(t, isBusy(err), "error %v is SQLITE_BUSY", err)
	assert.False(t, isBusy(errors.New("database is locked")), "a plain error is not")
}
