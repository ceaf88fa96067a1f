package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// stuckSocket is a socket whose SetDeadline waits until release is closed,
// so a kill can be caught half done.
type stuckSocket struct {
	net.Conn
	release chan struct{}
}

func (s *stuckSocket) SetDeadline(time.Time) error {
	<-s.release
	return nil
}

// healthyConn is a driver connection with nothing wrong with it.
type healthyConn struct{ driver.Conn }

func (healthyConn) IsValid() bool                       { return true }
func (healthyConn) ResetSession(context.Context) error  { return nil }
func (healthyConn) Close() error                        { return nil }
func (healthyConn) Begin() (driver.Tx, error)           { return nil, errors.New("not here") }
func (healthyConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not here") }

// TestLateKillNeverOutlivesItsCall: a call succeeds just as its context
// ends, and the watcher's kill has started but not yet reached the socket.
// Before, the call returned at once and its connection went back to the
// pool as valid; the kill then cut short whichever call ran next on it.
// Now the call returns only once the kill is done, and the connection is
// reported bad, so the pool drops it.
func TestLateKillNeverOutlivesItsCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sock := &stuckSocket{release: make(chan struct{})}
		c := &pgConn{inner: healthyConn{}, s: &socketSlot{nc: sock}}
		ctx, cancel := context.WithCancel(t.Context())
		done := c.watch(ctx)
		cancel()
		synctest.Wait() // the kill is under way, stuck on the socket

		returned := make(chan error, 1)
		go func() { returned <- done(nil) }()
		synctest.Wait()
		select {
		case <-returned:
			close(sock.release)
			t.Fatal("the call returned while its kill had yet to reach the socket")
		default:
		}

		close(sock.release)
		if err := <-returned; err != nil {
			t.Fatalf("a call that succeeded returned %v", err)
		}
		if c.IsValid() {
			t.Fatal("a killed connection is reported valid")
		}
		if err := c.ResetSession(context.Background()); !errors.Is(err, driver.ErrBadConn) {
			t.Fatalf("ResetSession on a killed connection: %v, want driver.ErrBadConn", err)
		}
	})
}
