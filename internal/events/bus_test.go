package events

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/broker"
	"github.com/companyapi/companyapi/internal/chat"
)

// sub records what a node's subscriber is told.
type sub struct {
	mu      sync.Mutex
	got     []chat.Event
	resyncs int
}

func (s *sub) Handle(evs []chat.Event) { s.mu.Lock(); s.got = append(s.got, evs...); s.mu.Unlock() }
func (s *sub) Resync()                 { s.mu.Lock(); s.resyncs++; s.mu.Unlock() }

func (s *sub) snapshot() ([]chat.Event, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]chat.Event(nil), s.got...), s.resyncs
}

func node(t *testing.T, name string, b broker.Broker) (*Bus, *sub) {
	t.Helper()
	bus := New(Config{Node: name, Broker: b, Logger: slog.New(slog.DiscardHandler)})
	s := &sub{}
	bus.Subscribe(s)
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	return bus, s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waiting for %s", what)
}

func msg(id int, content string) chat.MessageStored {
	return chat.MessageStored{Message: chat.Message{ID: id, Content: content, SenderID: 1, ConversationID: 9, Date: time.Unix(1700000000, 0).UTC()}, To: []int{1, 2}, Origin: "sock"}
}

// TestTwoNodes: what one node announces reaches its own subscribers once,
// at once, and the other node's once, in order; a message too large for the
// broker arrives without its content, to be loaded.
func TestTwoNodes(t *testing.T) {
	brk := broker.NewLocal()
	a, sa := node(t, "a", brk)
	_, sb := node(t, "b", brk)
	big := strings.Repeat("é", 4000) // 8 000 bytes: over NOTIFY's limit
	a.Announce(msg(1, "hi"), msg(2, big))
	a.Announce(chat.SessionsEnded{UserID: 7, TokenID: "j"}, chat.SessionsEnded{UserID: 7, Generation: 3})
	if got, _ := sa.snapshot(); len(got) != 4 {
		t.Fatalf("the announcing node's subscriber got %d events at once, want 4", len(got))
	}
	waitFor(t, "the other node", func() bool { got, _ := sb.snapshot(); return len(got) == 4 })
	got, resyncs := sb.snapshot()
	first := got[0].(chat.MessageStored)
	if first.Message.Content != "hi" || first.Elided || first.Origin != "" || len(first.To) != 2 {
		t.Fatalf("first event %+v", first)
	}
	second := got[1].(chat.MessageStored)
	if !second.Elided || second.Message.ID != 2 || second.Message.ConversationID != 9 || second.Message.Content != "" {
		t.Fatalf("a message too large for the broker arrived as %+v, want its ids without content", second)
	}
	if got[2] != (chat.SessionsEnded{UserID: 7, TokenID: "j"}) || got[3] != (chat.SessionsEnded{UserID: 7, Generation: 3}) {
		t.Fatalf("ended sessions arrived as %+v and %+v", got[2], got[3])
	}
	if resyncs != 0 {
		t.Fatalf("%d resyncs without a gap", resyncs)
	}
	if own, _ := sa.snapshot(); len(own) != 4 {
		t.Fatalf("the announcing node got its own events %d times over the broker", len(own)-4)
	}
}

// TestOneNameTwoProcesses: two nodes given one NODE_NAME (containers with
// one host name and pid 1) still reach each other, and a node restarted
// under its name starts a sequence of its own, not a gap.
func TestOneNameTwoProcesses(t *testing.T) {
	brk := broker.NewLocal()
	a, _ := node(t, "same", brk)
	_, sb := node(t, "same", brk)
	a.Announce(msg(1, "hi"))
	waitFor(t, "the other node", func() bool { got, _ := sb.snapshot(); return len(got) == 1 })
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	restarted, _ := node(t, "same", brk)
	restarted.Announce(msg(2, "again"))
	waitFor(t, "the restarted node", func() bool { got, _ := sb.snapshot(); return len(got) == 2 })
	if _, resyncs := sb.snapshot(); resyncs != 0 {
		t.Fatalf("%d resyncs after a restart", resyncs)
	}
}

// TestEncodeFitsPayloads: however many messages a batch holds, every
// payload stays under the limit, and numbers follow one another.
func TestEncodeFitsPayloads(t *testing.T) {
	var evs []chat.Event
	for i := range 300 {
		evs = append(evs, msg(1000000+i, strings.Repeat("x", 100)))
	}
	var seq uint64
	at := time.Unix(1700000000, 123456000)
	payloads := encode("node", &seq, 0, at, evs, 7900)
	n := 0
	for i, p := range payloads {
		if len(p) > 7900 {
			t.Fatalf("payload %d is %d bytes", i, len(p))
		}
		env, got, err := decode(p)
		if err != nil || env.Seq != uint64(i+1) || env.At != at.UnixMicro() {
			t.Fatalf("payload %d: seq %d, announced at %d, %v", i, env.Seq, env.At, err)
		}
		n += len(got)
	}
	if n != 300 {
		t.Fatalf("%d events decoded, want 300", n)
	}
	// Lost batches skip numbers.
	p := encode("node", &seq, 2, at, evs[:1], 7900)
	if env, _, _ := decode(p[0]); env.Seq != uint64(len(payloads))+3 {
		t.Fatalf("after 2 lost, seq %d, want %d", env.Seq, len(payloads)+3)
	}
}

// stuck is a broker whose Publish never returns until released.
type stuck struct {
	broker.Local
	entered chan struct{}
	release chan struct{}
}

func (s *stuck) Publish(ctx context.Context, p []byte) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return s.Local.Publish(ctx, p)
}

// TestAnnounceNeverWaitsForTheBroker: a broker that hangs neither blocks
// announcing (a commit) nor local delivery; what could not be queued is
// lost to the other nodes, which resync when the broker moves again.
func TestAnnounceNeverWaitsForTheBroker(t *testing.T) {
	brk := &stuck{entered: make(chan struct{}, 1), release: make(chan struct{})}
	a := New(Config{Node: "a", Broker: brk, Logger: slog.New(slog.DiscardHandler), Queue: 4})
	sa := &sub{}
	a.Subscribe(sa)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	_, sb := node(t, "b", &brk.Local)
	a.Announce(msg(1000, "first"))
	<-brk.entered // the publisher is stuck in the broker
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			a.Announce(msg(i+1, "x"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Announce waited for a stuck broker")
	}
	if got, _ := sa.snapshot(); len(got) != 101 {
		t.Fatalf("local subscriber got %d of 101", len(got))
	}
	close(brk.release)
	a.Announce(msg(101, "after"))
	waitFor(t, "the other node to resync", func() bool { _, r := sb.snapshot(); return r > 0 })
	_ = a.Close(context.Background())
}

// TestEveryEventCrossesNodes: each kind of event arrives on the other node
// as it was announced (but a message's Origin, which names a socket of the
// announcing node).
func TestEveryEventCrossesNodes(t *testing.T) {
	brk := broker.NewLocal()
	a, _ := node(t, "a", brk)
	_, sb := node(t, "b", brk)
	mark := 3
	all := []chat.Event{
		chat.MessageStored{Message: chat.Message{ID: 5, Content: "x", Date: time.Unix(1700000000, 0).UTC(), SenderID: 1, ConversationID: 2}, Prev: 4, To: []int{1, 2}},
		chat.SessionsEnded{UserID: 1, TokenID: "j"},
		chat.ConversationCreated{Conversation: chat.Conversation{ID: 2, SenderID: 1, RecipientID: 3, InsertedAt: time.Unix(1700000000, 0).UTC(), LastReadID: &mark}, To: []int{3, 1}},
		chat.ReadMarked{ConversationID: 2, UserID: 1, MessageID: 5, To: []int{3, 1}},
		chat.Typing{ConversationID: 2, UserID: 1, To: []int{3}},
		chat.PresenceChanged{Node: "a", Joins: []chat.PresenceMeta{{UserID: 1, Ref: "a.1", OnlineAt: 1700000000}}, Leaves: []chat.PresenceMeta{{UserID: 1, Ref: "a.0"}}},
		chat.PresenceState{Node: "a", Metas: []chat.PresenceMeta{{UserID: 1, Ref: "a.1"}}, Final: true},
		chat.PresenceSync{From: "a", Node: "b"},
		chat.NodeAlive{Node: "a", Metas: 1},
		chat.NodeLeaving{Node: "a"},
	}
	a.Announce(all...)
	waitFor(t, "every event", func() bool { got, _ := sb.snapshot(); return len(got) == len(all) })
	got, _ := sb.snapshot()
	for i := range all {
		if !reflect.DeepEqual(got[i], all[i]) {
			t.Errorf("event %d arrived as\n%+v\nwant\n%+v", i, got[i], all[i])
		}
	}
}
