package realtime

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/broker"
	"github.com/companyapi/companyapi/internal/chat"
)

// presenceOf decodes presence_state or one side of presence_diff into
// user id → phx_refs.
func presenceOf(t testing.TB, raw json.RawMessage) map[int][]string {
	t.Helper()
	var pm map[string]struct {
		Metas []struct {
			Ref      string `json:"phx_ref"`
			OnlineAt int64  `json:"online_at"`
		} `json:"metas"`
	}
	if err := json.Unmarshal(raw, &pm); err != nil {
		t.Fatalf("presence %s: %v", raw, err)
	}
	out := map[int][]string{}
	for k, e := range pm {
		id, _ := strconv.Atoi(k)
		for _, m := range e.Metas {
			if m.Ref == "" || m.OnlineAt == 0 {
				t.Fatalf("meta without phx_ref or online_at: %s", raw)
			}
			out[id] = append(out[id], m.Ref)
		}
	}
	return out
}

// presenceClient joins room:chat watching presence, and returns its
// presence_state.
func presenceClient(t *testing.T, ts *testServer, token string) (*client, string, map[int][]string) {
	t.Helper()
	c := ts.dial(t, token, vsn2)
	c.presence = true
	jr := c.join(topicChat)
	f := c.expect(jr, nil, topicChat, eventPresenceState)
	return c, jr, presenceOf(t, f.Payload)
}

// nextDiff reads the next presence_diff, skipping others' pushes.
func nextDiff(t *testing.T, c *client, jr string) (joins, leaves map[int][]string) {
	t.Helper()
	f := c.expect(jr, nil, topicChat, eventPresenceDiff)
	var d struct {
		Joins  json.RawMessage `json:"joins"`
		Leaves json.RawMessage `json:"leaves"`
	}
	if err := json.Unmarshal(f.Payload, &d); err != nil {
		t.Fatal(err)
	}
	return presenceOf(t, d.Joins), presenceOf(t, d.Leaves)
}

func users(m map[int][]string) []int { return slices.Sorted(maps.Keys(m)) }

// TestPresence: a user sees their own devices and the users they share a
// conversation with, in Phoenix Presence's format — a state after every
// join, then diffs — and nobody else.
func TestPresence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		ann, annTok := b.NewUser(t)
		bob, bobTok := b.NewUser(t)
		_, cidTok := b.NewUser(t)
		b.NewConversation(t, ann, bob)

		a1, ja1, state := presenceClient(t, ts, annTok)
		if !slices.Equal(users(state), []int{ann}) || len(state[ann]) != 1 {
			t.Fatalf("ann's first state %v, want her own device", state)
		}
		bb, jb, state := presenceClient(t, ts, bobTok)
		if !slices.Equal(users(state), []int{ann, bob}) {
			t.Fatalf("bob's state %v, want ann and bob", state)
		}
		if joins, _ := nextDiff(t, a1, ja1); !slices.Equal(users(joins), []int{bob}) {
			t.Fatalf("ann saw joins %v, want bob", joins)
		}
		// A stranger's device: nobody else hears of it, nor it of them.
		cc, _, state := presenceClient(t, ts, cidTok)
		if len(state) != 1 {
			t.Fatalf("a stranger's state %v, want only their own device", state)
		}
		// ann's second device.
		a2, _, state := presenceClient(t, ts, annTok)
		if len(state[ann]) != 2 || len(state[bob]) != 1 {
			t.Fatalf("ann's second device's state %v", state)
		}
		for _, c := range []struct {
			c  *client
			jr string
		}{{a1, ja1}, {bb, jb}} {
			if joins, _ := nextDiff(t, c.c, c.jr); len(joins[ann]) != 1 {
				t.Fatalf("joins %v, want ann's second device", joins)
			}
		}
		a2.conn.CloseNow()
		for _, c := range []struct {
			c  *client
			jr string
		}{{a1, ja1}, {bb, jb}} {
			if _, leaves := nextDiff(t, c.c, c.jr); len(leaves[ann]) != 1 {
				t.Fatalf("leaves %v, want ann's second device", leaves)
			}
		}
		a1.heartbeat() // nothing about the stranger came before
		bb.heartbeat()
		cc.heartbeat()
	})
}

// TestPresenceOfANewConversation: opening a conversation brings each
// participant into the other's presence.
func TestPresenceOfANewConversation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		ann, annTok := b.NewUser(t)
		cid, cidTok := b.NewUser(t)
		a, ja, _ := presenceClient(t, ts, annTok)
		c, jc, _ := presenceClient(t, ts, cidTok)
		conv := b.NewConversation(t, ann, cid)
		for _, cl := range []*client{a, c} {
			f := cl.expect(map[*client]string{a: ja, c: jc}[cl], nil, topicChat, eventConversationCreated)
			var got chat.Conversation
			if err := json.Unmarshal(f.Payload, &got); err != nil || got.ID != conv {
				t.Fatalf("conversation_created %s (%v)", f.Payload, err)
			}
		}
		if joins, _ := nextDiff(t, a, ja); !slices.Equal(users(joins), []int{cid}) {
			t.Fatalf("ann saw %v, want cid", joins)
		}
		if joins, _ := nextDiff(t, c, jc); !slices.Equal(users(joins), []int{ann}) {
			t.Fatalf("cid saw %v, want ann", joins)
		}
	})
}

// twoNodes starts two servers on one broker for one backend; the domain
// announces on the first.
func twoNodes(t *testing.T, b backend) (n1, n2 *testServer, clock *fakeClock, brk *broker.Local) {
	brk = broker.NewLocal()
	clock = &fakeClock{}
	n1 = startServer(t, b, Config{Events: nodeBus(t, brk)})
	n2 = startServer(t, b, Config{Events: nodeBus(t, brk), now: clock.now})
	return n1, n2, clock, brk
}

// TestPresenceAcrossNodes: presence holds for the cluster: a user with
// devices on two nodes stays present until the last leaves; a node that
// stops (SIGTERM) takes its devices with it at once; a node that dies
// (no heartbeat) within presenceNodeTimeout.
func TestPresenceAcrossNodes(t *testing.T) {
	b := newFakeBackend(t)
	n1, n2, clock, _ := twoNodes(t, b)
	ann, annTok := b.NewUser(t)
	bob, bobTok := b.NewUser(t)
	b.NewConversation(t, ann, bob)

	a1, _, _ := presenceClient(t, n1, annTok)
	bb, jb, state := presenceClient(t, n2, bobTok)
	if len(state[ann]) != 1 {
		t.Fatalf("bob on node 2 sees %v, want ann's device on node 1", state)
	}
	a2, _, _ := presenceClient(t, n2, annTok)
	if joins, _ := nextDiff(t, bb, jb); len(joins[ann]) != 1 {
		t.Fatalf("joins %v", joins)
	}
	a2.conn.CloseNow()
	if _, leaves := nextDiff(t, bb, jb); len(leaves[ann]) != 1 {
		t.Fatalf("leaves %v, want ann's node-2 device", leaves)
	}
	// ann is still present through node 1: node 2's next sockets see her.
	if _, _, state := presenceClient(t, n2, bobTok); len(state[ann]) != 1 {
		t.Fatalf("a new device of bob sees %v, want ann's node-1 device", state)
	}
	if joins, _ := nextDiff(t, bb, jb); len(joins[bob]) != 1 {
		t.Fatalf("bob's first device: joins %v, want his second", joins)
	}
	_ = a1

	// Node 1 dies: no heartbeat for presenceNodeTimeout.
	clock.advance(presenceNodeTimeout + time.Second)
	n2.srv.presence.tick(clock.now())
	if _, leaves := nextDiff(t, bb, jb); len(leaves[ann]) != 1 {
		t.Fatalf("after node 1 went silent: leaves %v, want ann", leaves)
	}
}

// TestPresenceDeploy: a node shut down (SIGTERM) leaves no zombie: its
// devices leave at once on the others.
func TestPresenceDeploy(t *testing.T) {
	b := newFakeBackend(t)
	n1, n2, _, brk := twoNodes(t, b)
	ann, annTok := b.NewUser(t)
	bob, bobTok := b.NewUser(t)
	b.NewConversation(t, ann, bob)
	presenceClient(t, n1, annTok)
	bb, jb, _ := presenceClient(t, n2, bobTok)
	go n1.srv.Shutdown(t.Context())
	if _, leaves := nextDiff(t, bb, jb); len(leaves[ann]) != 1 {
		t.Fatalf("leaves %v, want ann's device on the stopped node", leaves)
	}
	// A node that starts asks the others for their state: it sees bob.
	n3 := startServer(t, b, Config{Events: nodeBus(t, brk)})
	eventually(t, "the new node to learn the others' presence", func() bool {
		n3.srv.presence.mu.Lock()
		defer n3.srv.presence.mu.Unlock()
		return len(n3.srv.presence.metas[bob]) == 1 && len(n3.srv.presence.metas[ann]) == 0
	})
}
