package browsertest

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Link is a TCP proxy to a server that a test can cut, as a network loss
// would: every connection through it drops, and new ones are closed at
// once, until Restore. Each person's tab goes through its own link, so one
// of them can go offline while the other stays.
type Link struct {
	URL string // http://127.0.0.1:<port>, the page's origin for its tab

	ln      net.Listener
	backend string

	mu         sync.Mutex
	down       bool
	refuseWebs bool
	conns      map[net.Conn]bool
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
	refuse := l.refuseWebs
	l.mu.Unlock()
	var from io.Reader = c
	if refuse {
		br := bufio.NewReader(c)
		if isUpgrade(c, br) {
			_, _ = c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			c.Close()
			s.Close()
			l.forget(c, s)
			return
		}
		from = br
	}
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst net.Conn, src io.Reader) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		// One way ended: end both, as a dropped link would.
		c.Close()
		s.Close()
	}
	go pipe(s, from)
	go pipe(c, s)
	wg.Wait()
	l.forget(c, s)
}

func (l *Link) forget(c, s net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	delete(l.conns, s)
	l.mu.Unlock()
}

// RefuseWebSockets makes the link answer 403 to WebSocket upgrades, as a
// company proxy that blocks them does; other requests go through. It
// looks at the first request of each connection only, which is where
// browsers ask for an upgrade (a WebSocket gets a connection of its own).
func (l *Link) RefuseWebSockets() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refuseWebs = true
}

// isUpgrade peeks at the request head waiting in br, leaving it there.
func isUpgrade(c net.Conn, br *bufio.Reader) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	for n := 1; n <= br.Size(); n++ {
		head, err := br.Peek(n)
		if err != nil {
			return false
		}
		if bytes.HasSuffix(head, []byte("\r\n\r\n")) {
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
			return err == nil && req.Header.Get("Upgrade") != ""
		}
	}
	return false
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
