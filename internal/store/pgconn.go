package store

import (
	"context"
	"database/sql/driver"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// Why this file exists: lib/pq gives up a query whose context ends by
// sending PostgreSQL a cancel request and waiting for the server to answer
// the original query. A server that is frozen (SIGSTOP, a network
// partition, a stuck failover) answers neither, so the query, and whoever
// waits on it, hangs for as long as the freeze lasts. Here every call that
// takes a context also arms a watcher that, when the context ends, moves the
// connection's socket deadline into the past: the blocked read returns at
// once, the call fails with the context's error, and the connection, now
// useless, is dropped from the pool. On a live server pq's cancel request
// still stops the query server-side.

// Bounds of the network steps no request context covers.
const (
	// connectTimeout bounds opening a connection, startup included, also
	// when database/sql opens one in the background without a deadline.
	connectTimeout = 5 * time.Second
	// cancelRequestTimeout bounds pq's out-of-band cancel request, which a
	// frozen server never answers.
	cancelRequestTimeout = time.Second
)

// pgConnector opens lib/pq connections whose calls honour their contexts.
type pgConnector struct {
	base *pq.Connector
}

func newPGConnector(dsn string) (*pgConnector, error) {
	base, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	base.Dialer(pgDialer{})
	return &pgConnector{base: base}, nil
}

func (c *pgConnector) Driver() driver.Driver { return c.base.Driver() }

// Connect opens a connection, bounded by ctx and by connectTimeout.
func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	s := &socketSlot{}
	stop := context.AfterFunc(ctx, s.kill)
	cn, err := c.base.Connect(context.WithValue(ctx, socketSlotKey{}, s))
	killed := !stop()
	switch {
	case err != nil && killed:
		return nil, ctx.Err()
	case err != nil:
		return nil, err
	case killed || s.nc == nil:
		cn.Close()
		return nil, ctx.Err()
	}
	return &pgConn{inner: cn, s: s}, nil
}

// socketSlotKey marks the context of Connect, so the dialer can hand the
// connection's socket back to it; pq's cancel requests dial without it.
type socketSlotKey struct{}

// socketSlot is one connection's socket, and whether it has been killed.
type socketSlot struct {
	mu     sync.Mutex
	nc     net.Conn
	killed atomic.Bool
}

func (s *socketSlot) set(nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nc = nc
	if s.killed.Load() {
		_ = nc.SetDeadline(time.Unix(1, 0))
	}
}

// kill fails every pending and future read and write on the socket.
func (s *socketSlot) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killed.Store(true)
	if s.nc != nil {
		_ = s.nc.SetDeadline(time.Unix(1, 0))
	}
}

// pgDialer dials PostgreSQL for pq.
type pgDialer struct{}

var netDialer = net.Dialer{Timeout: connectTimeout, KeepAlive: 15 * time.Second}

func (d pgDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d pgDialer) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, addr)
}

func (d pgDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	s, _ := ctx.Value(socketSlotKey{}).(*socketSlot)
	if s == nil {
		// A cancel request: pq waits for the server to close it, which a
		// frozen server never does.
		ctx, cancel := context.WithTimeout(ctx, cancelRequestTimeout)
		defer cancel()
		nc, err := netDialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		_ = nc.SetDeadline(time.Now().Add(cancelRequestTimeout))
		return nc, nil
	}
	nc, err := netDialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	s.set(nc)
	return nc, nil
}

// pgConn is a pq connection whose context-taking calls are bounded by
// their contexts (see the top of this file).
type pgConn struct {
	inner driver.Conn
	s     *socketSlot
}

// The interfaces database/sql looks for, all implemented by pq's conn.
var (
	_ driver.Conn               = (*pgConn)(nil)
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.Pinger             = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
	_ driver.Validator          = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
)

// watch arms the watcher for one call; the returned function disarms it
// and turns the error of a call it cut short into ctx's error.
//
// stop reports false as soon as the kill has started, not once it is done:
// the disarm then waits for it, or a call that succeeded would hand the
// connection back while the kill is still to land, and it would cut short
// the next call made on it. Once killed, the connection reports itself bad
// (ResetSession, IsValid) and the pool drops it.
func (c *pgConn) watch(ctx context.Context) func(error) error {
	killed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(killed)
		c.s.kill()
	})
	return func(err error) error {
		if stop() {
			return err
		}
		<-killed
		if err != nil {
			return ctx.Err()
		}
		return nil
	}
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	done := c.watch(ctx)
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err = done(err); err != nil {
		return nil, err
	}
	return &pgStmt{inner: st, c: c}, nil
}

func (c *pgConn) Close() error { return c.inner.Close() }

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx keeps the watcher armed until the transaction ends: database/sql
// rolls a transaction back when its context ends, and that rollback must
// not wait on a frozen server either.
func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	done := c.watch(ctx)
	tx, err := c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, done(err)
	}
	return &pgTx{inner: tx, done: done}, nil
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	done := c.watch(ctx)
	rows, err := c.inner.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != nil {
		return nil, done(err)
	}
	return &pgRows{inner: rows, done: done}, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	done := c.watch(ctx)
	res, err := c.inner.(driver.ExecerContext).ExecContext(ctx, query, args)
	return res, done(err)
}

func (c *pgConn) Ping(ctx context.Context) error {
	done := c.watch(ctx)
	return done(c.inner.(driver.Pinger).Ping(ctx))
}

func (c *pgConn) ResetSession(ctx context.Context) error {
	if c.s.killed.Load() {
		return driver.ErrBadConn
	}
	return c.inner.(driver.SessionResetter).ResetSession(ctx)
}

func (c *pgConn) IsValid() bool {
	return !c.s.killed.Load() && c.inner.(driver.Validator).IsValid()
}

func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.inner.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// pgStmt is a prepared statement on a pgConn.
type pgStmt struct {
	inner driver.Stmt
	c     *pgConn
}

func (s *pgStmt) Close() error  { return s.inner.Close() }
func (s *pgStmt) NumInput() int { return s.inner.NumInput() }

func (s *pgStmt) Exec(args []driver.Value) (driver.Result, error) {
	//lint:ignore SA1019 required by driver.Stmt; database/sql calls ExecContext
	return s.inner.Exec(args)
}

func (s *pgStmt) Query(args []driver.Value) (driver.Rows, error) {
	//lint:ignore SA1019 required by driver.Stmt; database/sql calls QueryContext
	return s.inner.Query(args)
}

// ExecContext runs the statement; pq's COPY statements have no context
// variant, and get the watcher all the same.
func (s *pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	done := s.c.watch(ctx)
	var res driver.Result
	var err error
	if sc, ok := s.inner.(driver.StmtExecContext); ok {
		res, err = sc.ExecContext(ctx, args)
	} else {
		res, err = s.Exec(values(args))
	}
	return res, done(err)
}

func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	done := s.c.watch(ctx)
	var rows driver.Rows
	var err error
	if sc, ok := s.inner.(driver.StmtQueryContext); ok {
		rows, err = sc.QueryContext(ctx, args)
	} else {
		rows, err = s.Query(values(args))
	}
	if err != nil {
		return nil, done(err)
	}
	return &pgRows{inner: rows, done: done}, nil
}

func values(args []driver.NamedValue) []driver.Value {
	v := make([]driver.Value, len(args))
	for i, a := range args {
		v[i] = a.Value
	}
	return v
}

// pgTx disarms its connection's watcher when it ends.
type pgTx struct {
	inner driver.Tx
	done  func(error) error
}

func (t *pgTx) Commit() error   { return t.done(t.inner.Commit()) }
func (t *pgTx) Rollback() error { return t.done(t.inner.Rollback()) }

// pgRows keeps its query's watcher armed until the rows are closed:
// reading them, and pq's Close that drains them, wait on the server too.
type pgRows struct {
	inner  driver.Rows
	done   func(error) error
	closed bool
}

func (r *pgRows) Columns() []string { return r.inner.Columns() }

func (r *pgRows) Close() error {
	err := r.inner.Close()
	if r.closed {
		return err
	}
	r.closed = true
	return r.done(err)
}

func (r *pgRows) Next(dest []driver.Value) error { return r.inner.Next(dest) }

func (r *pgRows) HasNextResultSet() bool {
	return r.inner.(driver.RowsNextResultSet).HasNextResultSet()
}

func (r *pgRows) NextResultSet() error {
	return r.inner.(driver.RowsNextResultSet).NextResultSet()
}

func (r *pgRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.inner.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(i)
}

func (r *pgRows) ColumnTypeScanType(i int) reflect.Type {
	return r.inner.(driver.RowsColumnTypeScanType).ColumnTypeScanType(i)
}

func (r *pgRows) ColumnTypeLength(i int) (int64, bool) {
	return r.inner.(driver.RowsColumnTypeLength).ColumnTypeLength(i)
}

func (r *pgRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.inner.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(i)
}
