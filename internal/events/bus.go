// Package events is the one path by which committed events (chat.Event)
// reach live clients: on this node at once, and on every other node through
// a broker (internal/broker). Publishing to the broker happens on a
// goroutine of its own, so a slow or absent broker never holds up a commit
// or a reply; what it cannot publish is lost to the other nodes, and they
// learn so from the gap in this node's sequence numbers and have their
// clients recover from the database.
package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/companyapi/companyapi/internal/broker"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/metrics"
)

// Subscriber is told of events, from this node or another, in each node's
// order. Its methods must not block (they run on the committing goroutine
// or the broker's receiving one).
type Subscriber interface {
	Handle(events []chat.Event)
	// Resync says events may have been lost (the broker connection dropped,
	// a node's sequence skipped): clients should recover from the store.
	Resync()
}

// Config sets up a Bus.
type Config struct {
	// Node names this node in envelopes and logs. A random suffix per Bus
	// keeps apart two processes given one name (containers with one host
	// name and pid 1) and a restarted node from its former self, whose
	// sequence it would otherwise seem to break.
	Node string
	// Broker reaches the other nodes; nil when this node is alone.
	Broker broker.Broker
	Logger *slog.Logger
	// Queue bounds the event batches waiting for the broker; default 4096.
	Queue int
	// Metrics hears of publishing, receiving, lag and resyncs; nil hears
	// nothing.
	Metrics *metrics.Metrics
}

// Bus implements chat.Announcer.
type Bus struct {
	node    string
	broker  broker.Broker
	log     *slog.Logger
	metrics *metrics.Metrics

	mu   sync.RWMutex
	subs []Subscriber

	out     chan announced
	lost    atomic.Uint64 // batches dropped since the last publish
	seq     uint64        // owned by the publishing goroutine
	peersMu sync.Mutex    // Local brokers deliver from each node's goroutine
	peers   map[string]uint64
	stopped chan struct{}
	// closeMu orders Announce's sends on out against Close closing it.
	closeMu sync.RWMutex
	closed  bool
}

var _ chat.Announcer = (*Bus)(nil)

// New returns a Bus; with a broker, Start connects it.
func New(cfg Config) *Bus {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4096
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:]) // crypto/rand.Read never fails
	return &Bus{node: cfg.Node + "/" + hex.EncodeToString(suffix[:]), broker: cfg.Broker, log: cfg.Logger, metrics: cfg.Metrics,
		out: make(chan announced, cfg.Queue), peers: map[string]uint64{}, stopped: make(chan struct{})}
}

// announced is one commit's events and when they were announced, so that
// the publish and delivery lags count from then.
type announced struct {
	events []chat.Event
	at     time.Time
}

// Subscribe adds s; call it before Start.
func (b *Bus) Subscribe(s Subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs = append(b.subs[:len(b.subs):len(b.subs)], s)
}

// Start subscribes to the broker and starts publishing to it.
func (b *Bus) Start() error {
	if b.broker == nil {
		close(b.stopped)
		return nil
	}
	if err := b.broker.Subscribe(receiver{b}); err != nil {
		return err
	}
	go b.publish()
	return nil
}

// Close publishes what is queued, bounded by ctx, then stops.
func (b *Bus) Close(ctx context.Context) error {
	if b.broker == nil {
		return nil
	}
	b.closeMu.Lock()
	if b.closed {
		b.closeMu.Unlock()
		return nil
	}
	b.closed = true
	close(b.out)
	b.closeMu.Unlock()
	select {
	case <-b.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connected reports the broker's state: "" without one, else its name and
// whether it is connected.
func (b *Bus) Connected() (name string, ok bool) {
	if b.broker == nil {
		return "", true
	}
	return b.broker.Name(), b.broker.Connected()
}

// Announce hands events to this node's subscribers at once, and queues
// them for the other nodes. It never waits for the broker: when the queue
// is full the batch is dropped, and the other nodes resync.
func (b *Bus) Announce(events ...chat.Event) {
	b.mu.RLock()
	subs := b.subs
	b.mu.RUnlock()
	for _, s := range subs {
		s.Handle(events)
	}
	if b.broker == nil {
		return
	}
	b.closeMu.RLock()
	defer b.closeMu.RUnlock()
	if b.closed {
		return
	}
	select {
	case b.out <- announced{events, time.Now()}:
	default:
		b.lost.Add(1)
		b.metrics.DroppedBatch()
	}
}

// publishTimeout bounds one publish; a broker that takes longer is
// treated as down for that payload.
const publishTimeout = 5 * time.Second

// publish sends queued batches to the broker, as many in one payload as fit.
func (b *Bus) publish() {
	defer close(b.stopped)
	for first := range b.out {
		batch := slices.Clip(first.events) // appends copy, never into the announcer's array
	drain:
		for len(batch) < 1024 {
			select {
			case more, ok := <-b.out:
				if !ok {
					break drain
				}
				batch = append(batch, more.events...)
			default:
				break drain
			}
		}
		for _, payload := range encode(b.node, &b.seq, b.lost.Swap(0), first.at, batch, b.broker.MaxPayload()) {
			ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
			err := b.broker.Publish(ctx, payload)
			cancel()
			b.metrics.Published(err == nil, time.Since(first.at))
			if err != nil {
				// Its sequence number is spent: the other nodes see the gap.
				b.log.Warn("events: publishing to the broker", "broker", b.broker.Name(), "err", err)
			}
		}
	}
}

// receiver is the Bus's broker.Handler.
type receiver struct{ b *Bus }

func (r receiver) Deliver(payload []byte) {
	env, events, err := decode(payload)
	if err != nil {
		r.b.log.Warn("events: an envelope that does not decode", "err", err)
		return
	}
	if env.Node == r.b.node {
		return // delivered locally when announced
	}
	r.b.metrics.Received(time.Since(time.UnixMicro(env.At)), env.At != 0)
	r.b.peersMu.Lock()
	last, known := r.b.peers[env.Node]
	r.b.peers[env.Node] = env.Seq
	r.b.peersMu.Unlock()
	if known && env.Seq != last+1 {
		r.b.metrics.Gap()
		r.b.log.Warn("events: envelopes lost from a node; clients recover", "node", env.Node, "after", last, "got", env.Seq)
		r.Resync()
	}
	if len(events) == 0 {
		return
	}
	r.b.mu.RLock()
	subs := r.b.subs
	r.b.mu.RUnlock()
	for _, s := range subs {
		s.Handle(events)
	}
}

func (r receiver) Resync() {
	r.b.metrics.Resync()
	r.b.mu.RLock()
	subs := r.b.subs
	r.b.mu.RUnlock()
	for _, s := range subs {
		s.Resync()
	}
}
