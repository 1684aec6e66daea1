package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
	"sync/atomic"
)

// Bounds of the prepared statements a connection keeps. When the cache is
// full, a statement that is not busy, picked at random, makes room.
const (
	// maxEdgeStatements is for the edge's connections. A webhook's
	// transaction runs two statements, the delivery insert and River's job
	// insert, and other callers of InEdgeTx, such as the drift report
	// endpoint, run a few more.
	maxEdgeStatements = 32
	// maxMainStatements is for the connection that River and the workers
	// share. It runs River's queries and the few hundred statements of
	// the store, and keeping them all costs a few MB.
	maxMainStatements = 512
)

// cachingConnector opens connections that keep the statements they
// prepare for ExecContext and QueryContext, keyed by the SQL text.
// database/sql prepares nothing for those calls, and modernc.org/sqlite
// then parses the SQL on every call, which for River's job insert costs
// more than the insert itself.
type cachingConnector struct {
	driver.Connector
	// maxStatements bounds the statements each connection keeps.
	maxStatements int
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn, c.maxStatements)
}

// cachingConn is a connection that keeps its prepared statements. It
// forwards every optional interface of modernc.org/sqlite's connections,
// as that driver's NewConnector documents for a wrapper. database/sql
// uses a connection from one goroutine at a time, so the cache needs no
// lock.
type cachingConn struct {
	conn    driver.Conn
	begin   driver.ConnBeginTx
	prepare driver.ConnPrepareContext
	exec    driver.ExecerContext
	query   driver.QueryerContext
	ping    driver.Pinger
	reset   driver.SessionResetter
	valid   driver.Validator
	stmts   map[string]*cachedStmt
	max     int
}

// cachedStmt is a kept statement. It is busy while the rows of a query
// on it are open, and a busy statement is not run again until they close.
type cachedStmt struct {
	stmt driver.Stmt
	busy atomic.Bool
}

func newCachingConn(conn driver.Conn, maxStatements int) (*cachingConn, error) {
	c := &cachingConn{conn: conn, stmts: make(map[string]*cachedStmt), max: maxStatements}
	var ok [7]bool
	c.begin, ok[0] = conn.(driver.ConnBeginTx)
	c.prepare, ok[1] = conn.(driver.ConnPrepareContext)
	c.exec, ok[2] = conn.(driver.ExecerContext)
	c.query, ok[3] = conn.(driver.QueryerContext)
	c.ping, ok[4] = conn.(driver.Pinger)
	c.reset, ok[5] = conn.(driver.SessionResetter)
	c.valid, ok[6] = conn.(driver.Validator)
	for _, has := range ok {
		if !has {
			_ = conn.Close()
			return nil, errors.New("sqlite connection lacks an interface the statement cache forwards: " + reflect.TypeOf(conn).String())
		}
	}
	return c, nil
}

// Unwrap returns the driver's connection, which modernc.org/sqlite's
// helpers such as Limit look for.
func (c *cachingConn) Unwrap() driver.Conn { return c.conn }

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prepare.PrepareContext(ctx, query)
}

// Begin is part of driver.Conn; database/sql calls BeginTx instead.
//
//lint:ignore SA1019 driver.Conn requires Begin, and the wrapped driver's Begin is the one to call.
func (c *cachingConn) Begin() (driver.Tx, error) { return c.conn.Begin() }

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.begin.BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.ping.Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.reset.ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.valid.IsValid() }

// Close finalizes the kept statements and closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for query, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
		delete(c.stmts, query)
	}
	errs = append(errs, c.conn.Close())
	return errors.Join(errs...)
}

// statement returns the kept statement for query, preparing and keeping
// it on first use. It returns nil when the statement is busy, when every
// kept statement is busy, or when preparing fails. The caller then runs
// the query uncached, which reports any error in the SQL itself.
func (c *cachingConn) statement(ctx context.Context, query string) *cachedStmt {
	if s, ok := c.stmts[query]; ok {
		if s.busy.Load() {
			return nil
		}
		return s
	}
	if len(c.stmts) >= c.max && !c.evictOne() {
		return nil
	}
	stmt, err := c.prepare.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if _, ok := stmt.(driver.StmtExecContext); !ok {
		_ = stmt.Close()
		return nil
	}
	if _, ok := stmt.(driver.StmtQueryContext); !ok {
		_ = stmt.Close()
		return nil
	}
	s := &cachedStmt{stmt: stmt}
	c.stmts[query] = s
	return s
}

// evictOne closes and removes one kept statement that is not busy, the
// first in Go's random map order, and reports whether there was one.
func (c *cachingConn) evictOne() bool {
	for query, s := range c.stmts {
		if !s.busy.Load() {
			_ = s.stmt.Close()
			delete(c.stmts, query)
			return true
		}
	}
	return false
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s := c.statement(ctx, query)
	if s == nil {
		return c.exec.ExecContext(ctx, query, args)
	}
	s.busy.Store(true)
	defer s.busy.Store(false)
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.statement(ctx, query)
	if s == nil {
		return c.query.QueryContext(ctx, query, args)
	}
	s.busy.Store(true)
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		s.busy.Store(false)
		return nil, err
	}
	return &cachedRows{Rows: rows, stmt: s}, nil
}

// cachedRows are the rows of a kept statement, whose Close frees the
// statement for its next run. They forward the column type interfaces of
// modernc.org/sqlite's rows.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy.Store(false)
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(index int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(index int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(index)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(index int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(index)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(index int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(index int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}
