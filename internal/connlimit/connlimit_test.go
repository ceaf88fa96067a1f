package connlimit_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/connlimit"
)

// serve accepts on a capped listener and keeps each connection open until
// the client closes it.
func serve(t *testing.T, cfg connlimit.Config) (addr string, l *connlimit.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l = connlimit.New(ln, cfg).(*connlimit.Listener)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln.Addr().String(), l
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCapPerAddress(t *testing.T) {
	addr, l := serve(t, connlimit.Config{PerAddr: 2})
	a, b := dial(t, addr), dial(t, addr)
	waitOpen(t, l, 2)
	// The third is answered 429 and closed.
	c := dial(t, addr)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over the cap: %v, %v; want 429", res, err)
	}
	// Closing one frees its slot.
	a.Close()
	waitOpen(t, l, 1)
	dial(t, addr)
	waitOpen(t, l, 2)
	_ = b
}

func TestExemptAddressesAreNotCapped(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	addr, l := serve(t, connlimit.Config{PerAddr: 1, Exempt: []*net.IPNet{loopback}})
	for range 5 {
		c := dial(t, addr)
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == nil || !isTimeout(err) {
			t.Fatalf("an exempt connection was answered or closed: %v", err)
		}
	}
	if n := l.Open("127.0.0.1"); n != 0 {
		t.Fatalf("exempt connections counted: %d", n)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func waitOpen(t *testing.T, l *connlimit.Listener, want int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if l.Open("127.0.0.1") == want {
			return
		}
	}
	t.Fatalf("%d connections counted, want %d", l.Open("127.0.0.1"), want)
}
