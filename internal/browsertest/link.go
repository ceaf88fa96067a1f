package browsertest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Link is a TCP proxy to a server that a test can cut, as a network loss
// would: every connection through it drops, and new ones are closed at
// once, until Restore. Each person's tab goes through its own link, so one
// of them can go offline while the other stays.
type Link struct {
	URL string // http://127.0.0.1:<port>, the page's origin for its tab

	ln      net.Listener
	backend string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

// NewLink listens on a free loopback port and forwards to backend
// (host:port) until the test ends.
func NewLink(t *testing.T, backend string) *Link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Link{URL: "http://" + ln.Addr().String(), ln: ln, backend: backend, conns: map[net.Conn]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.serve()
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		l.Cut()
	})
	return l
}

func (l *Link) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		go l.forward(c)
	}
}

func (l *Link) forward(c net.Conn) {
	l.mu.Lock()
	if l.down {
		l.mu.Unlock()
		c.Close()
		return
	}
	l.mu.Unlock()
	s, err := net.Dial("tcp", l.backend)
	if err != nil {
		c.Close()
		return
	}
	l.mu.Lock()
	if l.down { // cut while dialing
		l.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	l.conns[c], l.conns[s] = true, true
	l.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		// One way ended: end both, as a dropped link would.
		dst.Close()
		src.Close()
	}
	go pipe(s, c)
	go pipe(c, s)
	wg.Wait()
	l.mu.Lock()
	delete(l.conns, c)
	delete(l.conns, s)
	l.mu.Unlock()
}

// Cut drops every connection through the link and refuses new ones.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	for c := range l.conns {
		c.Close()
	}
}

// Restore lets connections through again.
func (l *Link) Restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = false
}
