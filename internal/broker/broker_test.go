package broker_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/companyapi/companyapi/internal/broker"
	"github.com/companyapi/companyapi/internal/storetest"
)

// recorder is a Handler that keeps what it got.
type recorder struct {
	mu      sync.Mutex
	got     []string
	resyncs int
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1000)} }

func (r *recorder) Deliver(p []byte) {
	r.mu.Lock()
	r.got = append(r.got, string(p))
	r.mu.Unlock()
	r.changed <- struct{}{}
}

func (r *recorder) Resync() {
	r.mu.Lock()
	r.resyncs++
	r.mu.Unlock()
	r.changed <- struct{}{}
}

// waitFor waits until cond holds on r, or fails t after 20 s.
func (r *recorder) waitFor(t *testing.T, what string, cond func(got []string, resyncs int) bool) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r.got, r.resyncs)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-timeout:
			t.Fatalf("waiting for %s: got %d payloads, %d resyncs", what, len(r.got), r.resyncs)
		}
	}
}

func contains(s string) func([]string, int) bool {
	return func(got []string, _ int) bool {
		for _, g := range got {
			if g == s {
				return true
			}
		}
		return false
	}
}

var quiet = slog.New(slog.DiscardHandler)

// twoNodes checks what every broker must do, with two nodes on it.
func twoNodes(t *testing.T, a, b broker.Broker) (ra, rb *recorder) {
	t.Helper()
	ra, rb = newRecorder(), newRecorder()
	if err := a.Subscribe(ra); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(rb); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Both nodes, the publisher included, get the payload; a multibyte
	// payload near the limit arrives whole.
	big := strings.Repeat("é", 3900)
	for _, p := range []string{"hello", big} {
		if err := a.Publish(ctx, []byte(p)); err != nil {
			t.Fatalf("publish %d bytes: %v", len(p), err)
		}
		ra.waitFor(t, "the publisher's own payload", contains(p))
		rb.waitFor(t, "the other node's payload", contains(p))
	}
	if err := a.Publish(ctx, make([]byte, a.MaxPayload()+1)); err != broker.ErrTooLarge {
		t.Fatalf("a payload over MaxPayload: %v, want ErrTooLarge", err)
	}
	if !a.Connected() || !b.Connected() {
		t.Fatal("not connected")
	}
	return ra, rb
}

func TestLocal(t *testing.T) {
	l := broker.NewLocal()
	twoNodes(t, l, l)
}

func TestPostgres(t *testing.T) {
	c := storetest.StartCluster(t)
	url := c.CreateDatabase(t, "broker")
	ctx := context.Background()
	open := func() broker.Broker {
		b, err := broker.OpenPostgres(ctx, url, quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	a, b := open(), open()
	ra, rb := twoNodes(t, a, b)

	// The server restarts: both nodes resync, and carry on.
	c.Stop(t)
	c.Start(t)
	for _, r := range []*recorder{ra, rb} {
		r.waitFor(t, "a resync after the restart", func(_ []string, n int) bool { return n > 0 })
	}
	waitConnected(t, a)
	if err := a.Publish(ctx, []byte("after")); err != nil {
		t.Fatal(err)
	}
	rb.waitFor(t, "a payload after the restart", contains("after"))
}

func TestNATS(t *testing.T) {
	srv := startNATS(t, -1)
	url := srv.ClientURL()
	open := func() broker.Broker {
		b, err := broker.OpenNATS(url, quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	a, b := open(), open()
	ra, rb := twoNodes(t, a, b)

	// The server restarts on its port: both nodes resync, and carry on.
	port := srv.Addr().(interface{ String() string }).String()
	srv.Shutdown()
	srv.WaitForShutdown()
	startNATS(t, portOf(t, port))
	for _, r := range []*recorder{ra, rb} {
		r.waitFor(t, "a resync after the restart", func(_ []string, n int) bool { return n > 0 })
	}
	waitConnected(t, a)
	waitConnected(t, b)
	// Core NATS keeps nothing: b may resubscribe a moment after a is back,
	// so publish until a payload gets through.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			_ = a.Publish(context.Background(), []byte("after"))
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	rb.waitFor(t, "a payload after the restart", contains("after"))
}

func startNATS(t *testing.T, port int) *natsserver.Server {
	t.Helper()
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

func portOf(t *testing.T, addr string) int {
	var port int
	if _, err := fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &port); err != nil {
		t.Fatal(err)
	}
	return port
}

func waitConnected(t *testing.T, b broker.Broker) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b.Connected() {
			return
		}
	}
	t.Fatalf("%s broker not connected again", b.Name())
}
