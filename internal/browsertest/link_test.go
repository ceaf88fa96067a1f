package browsertest

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestLink: a link forwards both ways; Cut drops an open connection and
// refuses new ones; Restore lets them through again.
func TestLink(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("pong"))
	}))
	defer srv.Close()
	l := NewLink(t, strings.TrimPrefix(srv.URL, "http://"))
	addr := strings.TrimPrefix(l.URL, "http://")

	// ask sends a request on c and returns the answer's status line, or
	// the error that a dropped link gives.
	ask := func(c net.Conn) (string, error) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			return "", err
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "", err
		}
		res.Body.Close()
		return res.Status, nil
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	open := dial()
	if status, err := ask(open); err != nil || status != "200 OK" {
		t.Fatalf("through the link: %q %v", status, err)
	}
	l.Cut()
	if status, err := ask(open); err == nil {
		t.Fatalf("a connection open across the cut still answers: %q", status)
	}
	if status, err := ask(dial()); err == nil {
		t.Fatalf("a new connection while cut answers: %q", status)
	}
	l.Restore()
	if status, err := ask(dial()); err != nil || status != "200 OK" {
		t.Fatalf("after Restore: %q %v", status, err)
	}
}

// TestLinkRefusingWebSockets: a link that refuses WebSockets answers an
// upgrade 403 and passes other requests through.
func TestLinkRefusingWebSockets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			w.WriteHeader(http.StatusSwitchingProtocols)
			return
		}
		_, _ = w.Write([]byte("pong"))
	}))
	defer srv.Close()
	l := NewLink(t, strings.TrimPrefix(srv.URL, "http://"))
	l.RefuseWebSockets()
	get := func(upgrade bool) int {
		req, _ := http.NewRequest("GET", l.URL+"/socket/websocket", nil)
		if upgrade {
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
		}
		res, err := (&http.Transport{}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get(true); code != http.StatusForbidden {
		t.Errorf("an upgrade through the link: %d, want 403", code)
	}
	if code := get(false); code != http.StatusOK {
		t.Errorf("a plain request through the link: %d, want 200", code)
	}
}
