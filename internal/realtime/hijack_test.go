package realtime

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/companyapi/companyapi/internal/connlimit"
)

// TestIdleWaitBehindTheConnectionCap: behind the per-address cap's
// listener (on by default), a socket still waits on its descriptor, the
// cheap idle wait; without it every idle socket costs a second goroutine.
func TestIdleWaitBehindTheConnectionCap(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	mux := http.NewServeMux()
	mux.Handle("/socket/websocket", ts.srv)
	capped := httptest.NewUnstartedServer(mux)
	capped.Listener = connlimit.New(capped.Listener, connlimit.Config{PerAddr: 10, Logger: slog.New(slog.DiscardHandler)})
	capped.Start()
	t.Cleanup(capped.Close)
	ts.ts.Close()
	ts.ts = capped

	uid, tok := b.NewUser(t)
	c := ts.dial(t, tok, vsn2)
	c.join(topicChat)
	socks := ts.socketsOf(uid)
	if len(socks) != 1 {
		t.Fatalf("%d sockets, want 1", len(socks))
	}
	if socks[0].rc == nil {
		t.Fatal("the socket has no descriptor to wait on behind the connection cap")
	}
}
