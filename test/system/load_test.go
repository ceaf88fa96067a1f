package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// sender sends messages on a socket, one at a time, each with its own
// client_id, as api/channels.md's retry recipe says: a send answered
// "unavailable", or not answered, is sent again with the same client_id;
// when its node goes away it reconnects to the next one and goes on.
type sender struct {
	name    string
	nodes   []*node
	token   string
	to      int
	conv    int
	timeout time.Duration // how long a reply may take before the send is repeated
	every   time.Duration
	// once: when the socket closes, stop rather than reconnect; the send
	// it cut is in cut.
	once bool
	cut  []string

	mu          sync.Mutex
	acked       map[string]int // client_id → the id its ok named
	latencies   []time.Duration
	maxLatency  time.Duration
	unavailable int // "unavailable" replies
	noReply     int // sends repeated for want of a reply
	closed      int // sends cut by their socket closing
	rejoins     int // channel failures
	dialFailed  int
	lastOK      time.Time
	okAfter     []time.Time // when each ok arrived
	errs        []string
}

func newSender(name string, nodes []*node, token string, to, conv int, timeout time.Duration) *sender {
	return &sender{name: name, nodes: nodes, token: token, to: to, conv: conv, timeout: timeout,
		every: 5 * time.Millisecond, acked: map[string]int{}}
}

func (s *sender) run(ctx context.Context) {
	var p *phx
	defer func() {
		if p != nil {
			p.close()
		}
	}()
	cur, n, pending := 0, 0, ""
	for ctx.Err() == nil {
		if p == nil {
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			var err error
			p, err = dialPhx(dctx, s.nodes[cur%len(s.nodes)].ws(), s.token)
			cancel()
			if err == nil {
				_, err = p.join(map[string]any{})
			}
			if err != nil {
				s.count(&s.dialFailed)
				if p != nil {
					p.close()
					p = nil
				}
				cur++
				sleep(ctx, 100*time.Millisecond)
				continue
			}
		}
		if pending == "" {
			n++
			pending = fmt.Sprintf("%s-%d", s.name, n)
		}
		start := time.Now()
		r, err := p.call("room:chat", "send_msg", map[string]any{"user": s.to, "conv": s.conv, "message": pending, "client_id": pending}, s.timeout)
		took := time.Since(start)
		s.mu.Lock()
		s.latencies = append(s.latencies, took)
		s.maxLatency = max(s.maxLatency, took)
		switch {
		case errors.Is(err, errClosed):
			s.closed++
			p.close()
			p = nil
			cur++
			if s.once {
				s.cut = append(s.cut, pending)
				s.mu.Unlock()
				return
			}
		case errors.Is(err, errNoReply):
			s.noReply++
		case err != nil:
			s.errs = append(s.errs, err.Error())
		case r.Status == "ok":
			m, merr := messageOf(r.Response)
			if merr != nil {
				s.errs = append(s.errs, merr.Error())
			}
			s.acked[pending] = m.ID
			s.lastOK = time.Now()
			s.okAfter = append(s.okAfter, s.lastOK)
			pending = ""
		case reason(r.Response) == "unavailable":
			s.unavailable++
		case reason(r.Response) == "unmatched topic":
			// The channel failed (phx_error: the node resynced): rejoin,
			// as phoenix.js does, and send again.
			s.rejoins++
			if _, err := p.join(map[string]any{}); err != nil {
				p.close()
				p = nil
			}
		default:
			s.errs = append(s.errs, fmt.Sprintf("send %s: %s %s", pending, r.Status, r.Response))
		}
		s.mu.Unlock()
		sleep(ctx, s.every)
	}
}

func (s *sender) count(c *int) {
	s.mu.Lock()
	*c++
	s.mu.Unlock()
}

// ackedIDs returns the ids of every acknowledged message.
func (s *sender) ackedIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.acked))
	for _, id := range s.acked {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// p99 is the 99th percentile of the send latencies since from (index).
func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*99/100)]
}

func reason(resp json.RawMessage) string {
	var r struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(resp, &r)
	return r.Reason
}

// receiver follows one conversation on a socket, as a careful client
// does: it keeps the highest id up to which it holds every message (a push
// whose prev_id it does not hold is a gap, filled over REST), and when its
// socket closes it reconnects to the next node and rejoins with that
// cursor, recovering what it missed.
type receiver struct {
	nodes []*node
	token string
	conv  int

	mu         sync.Mutex
	got        map[int]int // id → times delivered (pushes, recovery, REST)
	last       int         // holds every message up to here
	pending    map[int]int // prev → id, pushes that came before their predecessor
	reconnects int
	gaps       int
}

func newReceiver(nodes []*node, token string, conv int) *receiver {
	return &receiver{nodes: nodes, token: token, conv: conv, got: map[int]int{}, pending: map[int]int{}}
}

func (r *receiver) run(ctx context.Context) {
	for cur := 0; ctx.Err() == nil; cur++ {
		n := r.nodes[cur%len(r.nodes)]
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		p, err := dialPhx(dctx, n.ws(), r.token)
		cancel()
		if err != nil {
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		r.mu.Lock()
		join := map[string]any{}
		if r.last > 0 {
			join["cursors"] = map[string]int{fmt.Sprint(r.conv): r.last}
		}
		r.mu.Unlock()
		if _, err := p.join(join); err != nil {
			p.close()
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		r.follow(ctx, p, n)
		p.close()
		r.mu.Lock()
		r.reconnects++
		r.mu.Unlock()
	}
}

// follow reads pushes until the socket closes or ctx ends.
func (r *receiver) follow(ctx context.Context, p *phx, n *node) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.closed:
			return
		case ps := <-p.pushes:
			switch ps.Event {
			case "receive_msg":
				var body struct {
					Message message `json:"message"`
					PrevID  *int    `json:"prev_id"`
				}
				if json.Unmarshal(ps.Payload, &body) != nil || body.Message.ConversationID != r.conv {
					continue
				}
				prev := 0
				if body.PrevID != nil {
					prev = *body.PrevID
				}
				r.take(ctx, n, body.Message.ID, prev)
			case "phx_error":
				return // rejoin with the cursor
			}
		}
	}
}

// take records a delivered message and moves the cursor; a gap is filled
// over REST.
func (r *receiver) take(ctx context.Context, n *node, id, prev int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[id]++
	switch {
	case id <= r.last:
	case prev == r.last:
		r.last = id
		for next, ok := r.pending[r.last]; ok; next, ok = r.pending[r.last] {
			delete(r.pending, r.last)
			r.last = next
		}
	default:
		r.pending[prev] = id
		r.gaps++
		msgs, err := page(n, r.token, r.conv, r.last)
		if err != nil || ctx.Err() != nil {
			return
		}
		for _, m := range msgs {
			if m.ID > r.last {
				r.got[m.ID]++
				r.last = m.ID
			}
		}
		for p := range r.pending {
			if p <= r.last {
				delete(r.pending, p)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// checkNoneLost fails t unless every acknowledged message is stored once
// (by its client_id) with the id its ok named, and reached the receiver.
func checkNoneLost(t *testing.T, w *world, senders []*sender, sender int, r *receiver) (acked int) {
	t.Helper()
	rows := w.storedClientIDs(sender)
	for _, s := range senders {
		s.mu.Lock()
		for cid, id := range s.acked {
			acked++
			if rows[cid] != 1 {
				t.Errorf("%s (message %d) is stored %d times, want once", cid, id, rows[cid])
			}
		}
		if len(s.errs) > 0 {
			t.Errorf("%s: %d unexpected answers, first: %s", s.name, len(s.errs), s.errs[0])
		}
		s.mu.Unlock()
	}
	if r == nil {
		return acked
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range senders {
		for _, id := range s.ackedIDs() {
			if r.got[id] == 0 {
				t.Errorf("acknowledged message %d never reached the receiver", id)
			}
		}
	}
	return acked
}

// drain waits until the receiver holds every acknowledged message, or
// timeout passes.
func (r *receiver) drain(senders []*sender, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		all := true
		r.mu.Lock()
		for _, s := range senders {
			for _, id := range s.ackedIDs() {
				if r.got[id] == 0 {
					all = false
				}
			}
		}
		r.mu.Unlock()
		if all {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *receiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := 0
	for _, n := range r.got {
		d += n - 1
	}
	return d
}

// lastOKBefore reports whether no send was acknowledged after t yet.
func (s *sender) lastOKBefore(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.lastOK.After(t)
}
