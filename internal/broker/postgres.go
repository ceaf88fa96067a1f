package broker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"github.com/companyapi/companyapi/internal/store"
)

// notifyMax keeps a payload under NOTIFY's limit (8000 bytes in the
// default configuration), with room to spare.
const notifyMax = 7900

// notifyChannel is the one channel every node listens on.
const notifyChannel = "companyapi_events"

// Health checks of the listening connection: a server that stops answering
// (frozen, partitioned) without closing the connection is noticed within
// pingEvery + pingTimeout, and the connection is dropped and made again.
const (
	pingEvery   = 5 * time.Second
	pingTimeout = 3 * time.Second
)

// Postgres is the broker on the database the nodes share: NOTIFY to
// publish, one LISTEN connection per node to receive.
type Postgres struct {
	log      *slog.Logger
	db       *sql.DB // publishes
	listener *pq.Listener
	conns    *lastConn
	up       atomic.Bool
	stop     chan struct{}
	wg       sync.WaitGroup
	handler  atomic.Pointer[Handler]
}

// OpenPostgres connects to the database at databaseURL and listens.
func OpenPostgres(ctx context.Context, databaseURL string, log *slog.Logger) (*Postgres, error) {
	if log == nil {
		log = slog.Default()
	}
	dsn, err := listenDSN(databaseURL)
	if err != nil {
		return nil, err
	}
	db, err := store.OpenPostgresDB(databaseURL, 4)
	if err != nil {
		return nil, err
	}
	p := &Postgres{log: log, db: db, conns: &lastConn{}, stop: make(chan struct{})}
	p.listener = pq.NewDialListener(p.conns, dsn, 100*time.Millisecond, 5*time.Second, p.event)
	if err := p.listener.Listen(notifyChannel); err != nil {
		p.listener.Close()
		db.Close()
		return nil, fmt.Errorf("broker: listen: %w", err)
	}
	p.up.Store(true)
	p.wg.Add(2)
	go p.receive()
	go p.health()
	return p, nil
}

// listenDSN bounds the listener's connects, which pq makes itself.
func listenDSN(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("broker: DATABASE_URL is not a URL")
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (p *Postgres) Publish(ctx context.Context, payload []byte) error {
	if len(payload) > notifyMax {
		return ErrTooLarge
	}
	_, err := p.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, string(payload))
	return err
}

func (p *Postgres) Subscribe(h Handler) error {
	if !p.handler.CompareAndSwap(nil, &h) {
		return errors.New("broker: already subscribed")
	}
	return nil
}

func (p *Postgres) MaxPayload() int { return notifyMax }
func (p *Postgres) Connected() bool { return p.up.Load() }
func (p *Postgres) Name() string    { return "postgres" }

func (p *Postgres) Close() error {
	close(p.stop)
	// A Ping waiting on a stalled server holds the listener's lock, which
	// Close needs: dropping the connection ends the wait.
	p.conns.closeLast()
	err := p.listener.Close()
	p.wg.Wait()
	return errors.Join(err, p.db.Close())
}

// receive hands notifications to the handler. pq sends nil after it
// reconnected: what was notified meanwhile is lost.
func (p *Postgres) receive() {
	defer p.wg.Done()
	for n := range p.listener.NotificationChannel() {
		h := p.handler.Load()
		if h == nil {
			continue
		}
		if n == nil {
			(*h).Resync()
			continue
		}
		(*h).Deliver([]byte(n.Extra))
	}
}

// event follows the listening connection's state. Close drops the
// connection itself (see there): what the listener reports from then on is
// the shutdown, not a connection lost, and goes unlogged.
func (p *Postgres) event(ev pq.ListenerEventType, err error) {
	stopping := false
	select {
	case <-p.stop:
		stopping = true
	default:
	}
	switch ev {
	case pq.ListenerEventConnected:
		p.up.Store(true) // the first connection, in OpenPostgres
	case pq.ListenerEventReconnected:
		if !p.up.Swap(true) && !stopping {
			p.log.Info("broker: listening again", "broker", "postgres")
		}
	case pq.ListenerEventDisconnected:
		p.up.Store(false)
		if !stopping {
			p.log.Warn("broker: lost the listening connection, reconnecting", "broker", "postgres", "err", err)
		}
	case pq.ListenerEventConnectionAttemptFailed:
		p.up.Store(false)
	}
}

// health pings the listening connection; one that does not answer in time
// is dropped, and pq makes a new one.
func (p *Postgres) health() {
	defer p.wg.Done()
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		done := make(chan error, 1)
		go func() { done <- p.listener.Ping() }()
		select {
		case err := <-done:
			if err != nil {
				p.up.Store(false)
			}
		case <-time.After(pingTimeout):
			p.up.Store(false)
			p.log.Warn("broker: the listening connection does not answer; dropping it", "broker", "postgres")
			p.conns.closeLast()
			<-done
		case <-p.stop:
			p.conns.closeLast() // as in Close: the Ping holds the lock
			return
		}
	}
}

// lastConn dials for pq's listener and remembers the connection, so that
// a stalled one can be closed from outside.
type lastConn struct {
	mu sync.Mutex
	c  net.Conn
	d  net.Dialer
}

func (l *lastConn) Dial(network, addr string) (net.Conn, error) {
	return l.DialTimeout(network, addr, 5*time.Second)
}

func (l *lastConn) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return l.DialContext(ctx, network, addr)
}

func (l *lastConn) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := l.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.c = c
	l.mu.Unlock()
	return c, nil
}

func (l *lastConn) closeLast() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		_ = l.c.Close()
	}
}
