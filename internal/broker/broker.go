// Package broker carries small payloads between the nodes of a cluster:
// in process (one node, or several in one test), over PostgreSQL
// LISTEN/NOTIFY (two nodes on one database need nothing else), or over
// NATS (for scale). What the payloads mean is internal/events' business.
//
// Delivery is best effort and at most once: a payload published while a
// node was not listening is lost to that node. Each broker tells its
// subscriber when that may have happened (Handler.Resync), so the node can
// have its clients recover what they missed from the database.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Handler receives what a Broker delivers. Its methods must return
// quickly: they run on the broker's one receiving goroutine.
type Handler interface {
	// Deliver gets one payload, from any node, this one included.
	Deliver(payload []byte)
	// Resync says payloads may have been lost: the connection to the
	// broker dropped and came back.
	Resync()
}

// Broker publishes payloads to every subscribed node.
type Broker interface {
	// Publish sends payload to every node. It may wait on the network, so
	// callers publish from a goroutine of their own, never from a commit.
	Publish(ctx context.Context, payload []byte) error
	// Subscribe starts delivering to h; call it once, before publishing.
	Subscribe(h Handler) error
	// MaxPayload is the largest payload Publish accepts, in bytes.
	MaxPayload() int
	// Connected reports whether the node can publish and receive now.
	Connected() bool
	// Name says which broker this is, for logs and /readyz.
	Name() string
	Close() error
}

// ErrTooLarge is returned for a payload over MaxPayload.
var ErrTooLarge = errors.New("broker: payload too large")

// Open returns the broker rawURL names: "local", "postgres" (LISTEN/NOTIFY
// on databaseURL) or "nats://host:port[,nats://host2:port...]".
func Open(ctx context.Context, rawURL, databaseURL string, log *slog.Logger) (Broker, error) {
	switch {
	case rawURL == "local":
		return NewLocal(), nil
	case rawURL == "postgres":
		return OpenPostgres(ctx, databaseURL, log)
	case strings.HasPrefix(rawURL, "nats://") || strings.HasPrefix(rawURL, "tls://"):
		return OpenNATS(rawURL, log)
	default:
		return nil, fmt.Errorf("broker %q: want local, postgres or nats://host:port", rawURL)
	}
}

// Local is the in-process broker: Publish hands the payload to every
// subscriber before it returns. It suits one node, or several nodes in one
// test process sharing it.
type Local struct {
	mu   sync.RWMutex
	subs []Handler
}

// NewLocal returns an empty in-process broker.
func NewLocal() *Local { return &Local{} }

func (l *Local) Publish(_ context.Context, payload []byte) error {
	if len(payload) > notifyMax {
		return ErrTooLarge
	}
	l.mu.RLock()
	subs := l.subs
	l.mu.RUnlock()
	for _, h := range subs {
		h.Deliver(payload)
	}
	return nil
}

func (l *Local) Subscribe(h Handler) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs[:len(l.subs):len(l.subs)], h)
	return nil
}

// MaxPayload is NOTIFY's bound, so code tested on Local holds elsewhere.
func (l *Local) MaxPayload() int { return notifyMax }
func (l *Local) Connected() bool { return true }
func (l *Local) Name() string    { return "local" }
func (l *Local) Close() error    { return nil }
