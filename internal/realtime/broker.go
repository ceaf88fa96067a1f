package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
)

// Envelope is one message for the sockets of users, on every node. It is
// plain data with JSON tags so that a broker between nodes (PostgreSQL
// LISTEN/NOTIFY) can carry it as it is.
//
// An envelope with a Topic is a push: Event with Payload (encoded once, by
// the publisher) goes to the users' channels joined on Topic. An envelope
// without a Topic is a command to the sockets themselves; the one command
// is EventDisconnect.
type Envelope struct {
	UserIDs []int `json:"user_ids"`
	// Origin is the socket ID that caused the push; that socket is skipped.
	Origin  string          `json:"origin,omitempty"`
	Topic   string          `json:"topic"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// TokenID selects, for EventDisconnect, the sockets opened with that
	// token (Session.TokenID).
	TokenID string `json:"token_id,omitempty"`
	// AllTokens selects, for EventDisconnect, every socket of UserIDs.
	AllTokens bool `json:"all_tokens,omitempty"`
}

// EventDisconnect, in an envelope without a Topic, closes the sockets of
// UserIDs opened with TokenID (1008 "logged out"), or all of them with
// AllTokens (1008 "signed out"); Phoenix's name for broadcasting the end of a
// socket's session.
const EventDisconnect = "disconnect"

// Broker carries envelopes from publishers to every subscribed node,
// including the publishing one. Channel code sees only this interface, so a
// multi-node broker can replace LocalBroker without touching it.
type Broker interface {
	// Publish sends e to every subscriber. It must not wait for sockets.
	Publish(ctx context.Context, e Envelope) error
	// Subscribe registers a node. deliver must return quickly and must not
	// keep e.UserIDs or e.Payload beyond the sockets' queues, which only
	// read them.
	Subscribe(deliver func(Envelope)) (unsubscribe func(), err error)
}

// LocalBroker is the in-process Broker: Publish calls every subscriber
// synchronously. It suits one node, or several Servers in one test process.
type LocalBroker struct {
	mu   sync.Mutex // serialises Subscribe and unsubscribe
	next int
	// subs is replaced, never modified, so Publish reads it without a lock.
	subs atomic.Pointer[[]localSub]
}

type localSub struct {
	id      int
	deliver func(Envelope)
}

var _ Broker = (*LocalBroker)(nil)

// NewLocalBroker returns an empty in-process broker.
func NewLocalBroker() *LocalBroker { return &LocalBroker{} }

// Publish delivers e to every subscriber before returning.
func (b *LocalBroker) Publish(_ context.Context, e Envelope) error {
	if subs := b.subs.Load(); subs != nil {
		for _, s := range *subs {
			s.deliver(e)
		}
	}
	return nil
}

// Subscribe adds deliver; the returned function removes it and is
// idempotent.
func (b *LocalBroker) Subscribe(deliver func(Envelope)) (func(), error) {
	if deliver == nil {
		return nil, errors.New("realtime: Subscribe needs a deliver function")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	subs := append(b.load(), localSub{id: id, deliver: deliver})
	b.subs.Store(&subs)
	return sync.OnceFunc(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		subs := slices.DeleteFunc(b.load(), func(s localSub) bool { return s.id == id })
		b.subs.Store(&subs)
	}), nil
}

// load returns a copy of the subscriber list, safe to modify.
func (b *LocalBroker) load() []localSub {
	if p := b.subs.Load(); p != nil {
		return slices.Clone(*p)
	}
	return nil
}
