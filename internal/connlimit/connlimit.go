// Package connlimit caps how many connections one client address may hold
// open, so that one client — 20 000 connections each dribbling a request
// body, say — cannot take every file descriptor of the process and leave
// none for everyone else.
package connlimit

import (
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets up a Listener.
type Config struct {
	// PerAddr is the most connections one IP address may hold; 0 disables
	// the cap.
	PerAddr int
	// Exempt lists the addresses that are not capped: reverse proxies,
	// which carry many clients' connections (TRUSTED_PROXIES).
	Exempt []*net.IPNet
	Logger *slog.Logger
}

// Listener wraps a net.Listener: a connection over its address's cap is
// answered 429 and closed at once.
type Listener struct {
	net.Listener
	cfg Config

	mu     sync.Mutex
	open   map[string]int
	logged atomic.Int64 // unix second of the last refusal logged
}

// New wraps ln; with cfg.PerAddr 0 it returns ln itself.
func New(ln net.Listener, cfg Config) net.Listener {
	if cfg.PerAddr <= 0 {
		return ln
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Listener{Listener: ln, cfg: cfg, open: map[string]int{}}
}

// tooMany is what a refused connection reads: a complete HTTP response, so
// a client learns why rather than seeing a reset.
var tooMany = func() string {
	body := `{"message":"too many connections"}`
	return "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}()

// Accept returns the next connection within its address's cap.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if ip == nil || l.exempt(ip) {
			return c, nil
		}
		key := AddrKey(ip)
		if l.acquire(key) {
			return &conn{Conn: c, release: func() { l.release(key) }}, nil
		}
		// The refusal fits in the socket's send buffer: this never waits
		// on the client.
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Write([]byte(tooMany))
		_ = c.Close()
		if now := time.Now().Unix(); l.logged.Swap(now) != now {
			l.cfg.Logger.Warn("connection refused: too many from one address", "addr", key, "limit", l.cfg.PerAddr)
		}
	}
}

// AddrKey is what the cap counts by: an IPv4 address, or an IPv6
// address's /64, which one host or home network gets whole and could
// otherwise spend on as many slots as it has addresses.
func AddrKey(ip net.IP) string {
	if ip.To4() != nil {
		return ip.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

func (l *Listener) exempt(ip net.IP) bool {
	for _, n := range l.cfg.Exempt {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func (l *Listener) acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.cfg.PerAddr {
		return false
	}
	l.open[key]++
	return true
}

func (l *Listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// Open reports how many connections addr holds.
func (l *Listener) Open(addr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[addr]
}

func remoteIP(c net.Conn) net.IP {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP
	}
	return nil
}

// conn gives its address's slot back once, when it is closed.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Unwrap gives the accepted connection: this wrapper reads nothing itself,
// so a reader may wait on the connection's descriptor directly.
func (c *conn) Unwrap() net.Conn { return c.Conn }

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
