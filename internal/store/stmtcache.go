package store

import (
	"container/list"
	"context"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// The SQLite driver parses and plans a query's SQL on every ExecContext and
// QueryContext call; only a prepared statement keeps its plan. Parsing was
// a sixth of the CPU of webhook ingest (pprof of `pandev bench --only
// ingest`), River's long job queries most of it. The database has one
// connection, so a per-connection cache of prepared statements keyed by the
// SQL text removes nearly all of it, for our queries and River's alike.

// stmtCacheSize bounds the prepared statements kept per connection; the
// application has a few hundred distinct statements at most, and a query
// with a generated IN list that misses only costs the parse it always did.
var stmtCacheSize = 512

// stmtCacheConnector opens SQLite connections that cache their statements.
type stmtCacheConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c stmtCacheConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteConn)
	if !ok {
		return conn, nil // a driver without the context interfaces: no cache
	}
	return &cachingConn{sqliteConn: inner, lru: list.New(), byQuery: map[string]*list.Element{}}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.drv }

// sqliteConn is what the SQLite driver's connection implements and the
// cache passes through.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// stmtContext is what the SQLite driver's statements implement.
type stmtContext interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// fullRows is what the SQLite driver's rows implement; database/sql looks
// for the column-type interfaces, so a wrapper must keep them.
type fullRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

type cachedStmt struct {
	query string
	stmt  stmtContext
	busy  bool // rows of it are open: a second use would reset them
}

// cachingConn is one SQLite connection with an LRU of prepared statements.
// database/sql never uses a connection from two goroutines at once, so it
// needs no lock.
type cachingConn struct {
	sqliteConn
	lru     *list.List // of *cachedStmt, most recent first
	byQuery map[string]*list.Element
}

// take returns the cached statement for query, preparing it on a miss; nil
// when it cannot be cached (busy, several statements, or no plan to keep).
func (c *cachingConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.byQuery[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return cs, nil
	}
	if !singleStatement(query) {
		return nil, nil
	}
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	sc, ok := st.(stmtContext)
	if !ok {
		st.Close()
		return nil, nil
	}
	cs := &cachedStmt{query: query, stmt: sc}
	c.byQuery[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		old := c.lru.Back()
		ocs := old.Value.(*cachedStmt)
		if ocs.busy {
			c.lru.MoveToFront(old) // closed when its rows close instead
			break
		}
		c.lru.Remove(old)
		delete(c.byQuery, ocs.query)
		ocs.stmt.Close()
	}
	return cs, nil
}

// singleStatement reports whether query holds one statement: scripts
// (migrations) are left to the driver, which runs them statement by
// statement. A semicolon inside a string literal only costs a cache miss.
func singleStatement(query string) bool {
	for i := 0; i < len(query); i++ {
		if query[i] == ';' {
			for _, r := range query[i+1:] {
				if r != ' ' && r != '\n' && r != '\t' && r != '\r' {
					return false
				}
			}
			return true
		}
	}
	return true
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.take(ctx, query)
	if err != nil || cs == nil {
		// Uncachable, or it did not prepare: the driver's own path runs it
		// and reports any error (a syntax error, a missing table) as usual.
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.take(ctx, query)
	if err != nil || cs == nil {
		// Uncachable, or it did not prepare: the driver's own path runs it
		// and reports any error (a syntax error, a missing table) as usual.
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	fr, ok := rows.(fullRows)
	if !ok {
		return rows, nil
	}
	cs.busy = true
	return &cachedRows{fullRows: fr, release: func() { c.release(cs) }}, nil
}

// release marks a statement free again once its rows closed, closing it if
// it was pushed out of the cache meanwhile.
func (c *cachingConn) release(cs *cachedStmt) {
	cs.busy = false
	if e, ok := c.byQuery[cs.query]; !ok || e.Value.(*cachedStmt) != cs {
		cs.stmt.Close()
	}
}

func (c *cachingConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.lru.Init()
	clear(c.byQuery)
	return c.sqliteConn.Close()
}

type cachedRows struct {
	fullRows
	release func()
	closed  bool
}

func (r *cachedRows) Close() error {
	err := r.fullRows.Close()
	if !r.closed {
		r.closed = true
		r.release()
	}
	return err
}
