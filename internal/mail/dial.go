package mail

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
)

// conns dials for one delivery and owns what it dialed. go-mail only
// watches ctx while dialling, and it leaves the connection open when the
// greeting or AUTH fails; conns closes it as soon as ctx ends (so a worker
// stuck on a silent server does not hold Queue.Close for a whole Timeout)
// and again when the delivery is over (so nothing leaks).
type conns struct {
	ctx context.Context
	cfg SMTPConfig

	mu   sync.Mutex
	open []*guardedConn
}

// dial is a go-mail DialContextFunc. Implicit TLS is done here, since
// go-mail skips its own TLS dialing when given a dial function.
func (s *conns) dial(dialCtx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(dialCtx, network, addr)
	if err != nil {
		return nil, err
	}
	conn := &guardedConn{Conn: raw, stop: context.AfterFunc(s.ctx, func() { _ = raw.Close() })}
	s.mu.Lock()
	s.open = append(s.open, conn)
	s.mu.Unlock()
	if s.cfg.TLS != TLSImplicit {
		return conn, nil
	}
	tc := tls.Client(conn, s.cfg.TLSConfig)
	if err := tc.HandshakeContext(dialCtx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

// closeAll ends every connection of the delivery; closing twice is harmless.
func (s *conns) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.open {
		_ = c.Close()
	}
	s.open = nil
}

// guardedConn drops the ctx watch when closed, so no callback outlives the
// delivery.
type guardedConn struct {
	net.Conn
	stop func() bool
}

func (c *guardedConn) Close() error {
	c.stop()
	return c.Conn.Close()
}
