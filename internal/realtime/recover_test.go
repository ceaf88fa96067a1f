package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
)

// joinWith joins topic with payload and returns the join ref and the ok
// reply's response.
func (c *client) joinWith(topic string, payload any) (string, json.RawMessage) {
	c.t.Helper()
	ref := c.nextRef()
	c.sendFrame(ref, ref, topic, eventJoin, payload)
	return ref, c.expectReply(ref, ref, topic, "ok")
}

// send stores a message from user from in conv, as REST would.
func send(t *testing.T, b backend, from, conv int, text string) chat.Message {
	t.Helper()
	m, err := b.Chat.SendMessage(context.Background(), chat.SendInput{SenderID: from, ConversationID: conv, Content: text})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRecoveryOnRejoin: a client that joins with the last message id it
// holds per conversation gets what it missed there, and in a conversation
// opened while it was away, oldest first, before any newer live push.
func TestRecoveryOnRejoin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		ann, _ := b.NewUser(t)
		bob, bobTok := b.NewUser(t)
		cid, _ := b.NewUser(t)
		known := b.NewConversation(t, ann, bob)
		held := send(t, b, ann, known, "held by bob")
		missed := []int{send(t, b, ann, known, "missed 1").ID, send(t, b, ann, known, "missed 2").ID}
		opened := b.NewConversation(t, cid, bob) // while bob was away
		missed = append(missed, send(t, b, cid, opened, "hello bob").ID)

		c := ts.dial(t, bobTok, vsn2)
		jr, resp := c.joinWith(topicChat, map[string]any{"cursors": map[string]int{fmt.Sprint(known): held.ID}})
		var r recoverReply
		if err := json.Unmarshal(resp, &r); err != nil || r.Recovered != 3 || len(r.Truncated) != 0 {
			t.Fatalf("join reply %s, want 3 recovered, none truncated", resp)
		}
		var got []int
		for range 3 {
			got = append(got, c.expectMessage(jr).ID)
		}
		if !slices.Equal(got, missed) {
			t.Fatalf("recovered %v, want %v", got, missed)
		}
		live := send(t, b, ann, known, "live")
		if m := c.expectMessage(jr); m.ID != live.ID {
			t.Fatalf("live push %d, want %d", m.ID, live.ID)
		}
		// A plain join, as the seed's clients make it, recovers nothing.
		c2 := ts.dial(t, bobTok, vsn2)
		if _, resp := c2.joinWith(topicChat, map[string]any{}); string(resp) != "{}" {
			t.Fatalf("plain join replied %s", resp)
		}
		c2.heartbeat()
	})
}

// TestRecoveryLargerThanTheQueue: a recovery of more messages than a
// socket may have waiting is what the client asked for, not a client
// falling behind: it arrives whole, and live pushes follow.
func TestRecoveryLargerThanTheQueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		const queue, missed = 2, 60
		ts := startServer(t, b, Config{OutboundQueue: queue})
		ann, _ := b.NewUser(t)
		bob, bobTok := b.NewUser(t)
		conv := b.NewConversation(t, ann, bob)
		var want []int
		for i := range missed {
			want = append(want, send(t, b, ann, conv, fmt.Sprint("missed ", i)).ID)
		}
		c := ts.dial(t, bobTok, vsn2)
		jr, resp := c.joinWith(topicChat, map[string]any{"cursors": map[string]int{fmt.Sprint(conv): 0}})
		var r recoverReply
		if err := json.Unmarshal(resp, &r); err != nil || r.Recovered != missed {
			t.Fatalf("join reply %s, want %d recovered", resp, missed)
		}
		var got []int
		for range missed {
			got = append(got, c.expectMessage(jr).ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("recovered %v, want %v", got, want)
		}
		if live := send(t, b, ann, conv, "live"); c.expectMessage(jr).ID != live.ID {
			t.Fatal("the live push after the recovery is missing")
		}
	})
}

// racingChat commits a message while a recovery reads the store: the
// message is both in the recovery and pushed live meanwhile.
type racingChat struct {
	Sender
	once sync.Once
	race func()
}

func (r *racingChat) Recover(ctx context.Context, userID int, q chat.RecoverQuery) (chat.Recovered, error) {
	r.once.Do(r.race)
	return r.Sender.Recover(ctx, userID, q)
}

// TestRecoveryHoldsLivePushes: a message committed during the recovery is
// delivered once, after the recovered ones, not twice and not before.
func TestRecoveryHoldsLivePushes(t *testing.T) {
	b := newFakeBackend(t)
	ann, _ := b.NewUser(t)
	bob, bobTok := b.NewUser(t)
	conv := b.NewConversation(t, ann, bob)
	first := send(t, b, ann, conv, "before")
	rc := &racingChat{Sender: b.Chat}
	b.Chat = rc
	ts := startServer(t, b, Config{})
	var racing chat.Message
	rc.race = func() { racing = send(t, b, ann, conv, "during the recovery") }

	c := ts.dial(t, bobTok, vsn2)
	jr, resp := c.joinWith(topicChat, map[string]any{"cursors": map[string]int{fmt.Sprint(conv): 0}})
	var r recoverReply
	if err := json.Unmarshal(resp, &r); err != nil || r.Recovered != 2 {
		t.Fatalf("join reply %s, want 2 recovered", resp)
	}
	if a, b := c.expectMessage(jr), c.expectMessage(jr); a.ID != first.ID || b.ID != racing.ID {
		t.Fatalf("pushes %d, %d; want %d then %d", a.ID, b.ID, first.ID, racing.ID)
	}
	// Nothing else was queued: the held live push of the racing message
	// was dropped as a duplicate.
	c.heartbeat()
}

func TestRecoveryRefusesBadCursors(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	_, tok := b.NewUser(t)
	c := ts.dial(t, tok, vsn2)
	ref := c.nextRef()
	c.sendFrame(ref, ref, topicChat, eventJoin, map[string]any{"cursors": map[string]any{"x": "y"}})
	e := errorResponseOf(t, c.expectReply(ref, ref, topicChat, "error"))
	if e.Reason != "invalid" || e.Errors["cursors"] == nil {
		t.Fatalf("bad cursors: %+v", e)
	}
}

// TestResyncFailsChannels: when events may have been lost (the broker
// dropped), every room:chat channel fails, so that phoenix.js rejoins it
// with its cursors and recovers; the channel no longer gets pushes until
// then.
func TestResyncFailsChannels(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	uid, _, c := ts.user(t, vsn2)
	jr := c.join(topicChat)
	ts.srv.Resync()
	c.expect(jr, jr, topicChat, eventError)
	ts.publish(messageFixture(1), uid)
	c.heartbeat() // no push came before the heartbeat's reply
	jr2 := c.join(topicChat)
	ts.publish(messageFixture(2), uid)
	c.expectMessage(jr2)
}

// gatedChat holds Recover until the test opens gate, so that something can
// happen while a join is under way.
type gatedChat struct {
	Sender
	entered, gate chan struct{}
}

func (g *gatedChat) Recover(ctx context.Context, userID int, q chat.RecoverQuery) (chat.Recovered, error) {
	g.entered <- struct{}{}
	<-g.gate
	return g.Sender.Recover(ctx, userID, q)
}

// TestResyncDuringAJoin: a Resync while a join is recovering fails the
// channel once the join is out — reply, presence_state, then phx_error —
// and leaves no presence behind: the device is not online forever.
func TestResyncDuringAJoin(t *testing.T) {
	b := newFakeBackend(t)
	g := &gatedChat{Sender: b.Chat, entered: make(chan struct{}), gate: make(chan struct{})}
	b.Chat = g
	ts := startServer(t, b, Config{})
	uid, tok := b.NewUser(t)
	c := ts.dial(t, tok, vsn2)
	c.presence = true
	ref := c.nextRef()
	c.sendFrame(ref, ref, topicChat, eventJoin, map[string]any{"cursors": map[string]int{}})
	<-g.entered
	ts.srv.Resync()
	close(g.gate)
	c.expectReply(ref, ref, topicChat, "ok")
	c.expect(ref, nil, topicChat, eventPresenceState)
	c.expect(ref, ref, topicChat, eventError)
	known := func() int {
		p := ts.srv.presence
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.metas[uid])
	}
	if n := known(); n != 0 {
		t.Fatalf("the failed channel left %d presence metas", n)
	}
	// phoenix.js rejoins; when the socket goes, so does its presence.
	c.presence = false
	c.join(topicChat)
	if n := known(); n != 1 {
		t.Fatalf("after the rejoin %d presence metas, want 1", n)
	}
	c.conn.CloseNow()
	eventually(t, "the closed socket's presence to go", func() bool { return known() == 0 })
}

// failingLoads fails MessagesByID, as a database that is down would.
type failingLoads struct{ Sender }

func (failingLoads) MessagesByID(context.Context, []int) ([]chat.Message, error) {
	return nil, chat.ErrUnavailable
}

// TestElidedMessages: a message another node announced without its
// content (too large for the broker) is loaded and pushed whole; when it
// cannot be loaded, its recipients' channels fail, so that they recover it
// on rejoin instead of never hearing of it.
func TestElidedMessages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		ann, _ := b.NewUser(t)
		bob, bobTok := b.NewUser(t)
		conv := b.NewConversation(t, ann, bob)
		m := send(t, b, ann, conv, "long enough to be elided")
		c := ts.dial(t, bobTok, vsn2)
		jr := c.join(topicChat)
		elided := chat.MessageStored{Message: chat.Message{ID: m.ID, ConversationID: conv}, To: []int{ann, bob}, Elided: true}
		ts.srv.Handle([]chat.Event{elided})
		if got := c.expectMessage(jr); got.ID != m.ID || got.Content != m.Content {
			t.Fatalf("pushed %+v, want %+v", got, m)
		}
		ts.srv.cfg.Chat = failingLoads{ts.srv.cfg.Chat}
		ts.srv.Handle([]chat.Event{elided})
		c.expect(jr, jr, topicChat, eventError)
	})
}

// TestAMessageAnnouncedTwiceIsPushedOnce: a repeat announced again (see
// chat's idempotent sends) reaches a channel that pushed it already once.
func TestAMessageAnnouncedTwiceIsPushedOnce(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	uid, _, c := ts.user(t, vsn2)
	jr := c.join(topicChat)
	ts.publish(messageFixture(1), uid)
	ts.publish(messageFixture(2), uid)
	ts.publish(messageFixture(1), uid)
	if a, b := c.expectMessage(jr), c.expectMessage(jr); a.ID != 1 || b.ID != 2 {
		t.Fatalf("pushed %d, %d; want 1, 2", a.ID, b.ID)
	}
	c.heartbeat() // and not 1 again
}
