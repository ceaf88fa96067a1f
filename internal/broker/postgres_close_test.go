package broker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/storetest"
)

// TestPostgresCloseOnAFrozenServer: a node stopping while the database is
// frozen (SIGSTOP) and its health ping waits for an answer still closes
// the broker: the waiting ping holds the listener's lock Close needs.
func TestPostgresCloseOnAFrozenServer(t *testing.T) {
	c := storetest.StartCluster(t)
	url := c.CreateDatabase(t, "broker_close")
	p, err := OpenPostgres(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.Freeze(t)
	defer c.Thaw(t)
	pinged := make(chan struct{})
	go func() {
		close(pinged)
		_ = p.listener.Ping()
	}()
	<-pinged
	time.Sleep(100 * time.Millisecond) // let the ping reach the frozen server
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close hangs while the server is frozen")
	}
}
