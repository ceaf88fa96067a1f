package system

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/storetest"
)

// faultSendTimeout is SEND_TIMEOUT in the fault tests: short, so that the
// tests see many deadlines in a few seconds.
const faultSendTimeout = 2 * time.Second

// replyBound is how long a client waits for a reply before it calls the
// send unanswered: the send timeout and room for a busy machine. A hang
// (the store frozen for 15 s) shows as unanswered sends.
const replyBound = faultSendTimeout + 5*time.Second

// load runs senders, each in a conversation of its own with a user of its
// own, against nodes.
type load struct {
	senders []*sender
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	userIDs []int
}

// startLoad starts n senders; change adjusts each before it runs.
func startLoad(t *testing.T, w *world, nodes []*node, n int, change ...func(*sender)) *load {
	t.Helper()
	ids, _ := w.users(2 * n)
	l := &load{}
	l.ctx, l.stop = context.WithCancel(context.Background())
	for i := range n {
		from, to := ids[2*i], ids[2*i+1]
		s := newSender(fmt.Sprintf("s%d", i), nodes, w.token(from), to, w.conversation(from, to), replyBound)
		s.every = 20 * time.Millisecond
		for _, c := range change {
			c(s)
		}
		l.senders = append(l.senders, s)
		l.userIDs = append(l.userIDs, from)
		l.wg.Go(func() { s.run(l.ctx) })
	}
	t.Cleanup(l.halt)
	return l
}

func (l *load) halt() {
	l.stop()
	l.wg.Wait()
}

// totals sums the senders' counters.
func (l *load) totals() (acked, unavailable, noReply, closed int, maxLatency time.Duration, lat []time.Duration) {
	for _, s := range l.senders {
		s.mu.Lock()
		acked += len(s.acked)
		unavailable += s.unavailable
		noReply += s.noReply
		closed += s.closed
		maxLatency = max(maxLatency, s.maxLatency)
		lat = append(lat, s.latencies...)
		s.mu.Unlock()
	}
	return
}

// lastOK is the latest acknowledgement of any sender.
func (l *load) firstOKAfter(at time.Time) time.Time {
	var first time.Time
	for _, s := range l.senders {
		s.mu.Lock()
		for _, ok := range s.okAfter {
			if ok.After(at) && (first.IsZero() || ok.Before(first)) {
				first = ok
			}
		}
		s.mu.Unlock()
	}
	return first
}

// checkStored fails t unless every acknowledged message is stored once.
func (l *load) checkStored(t *testing.T, w *world) {
	t.Helper()
	for i, s := range l.senders {
		checkNoneLost(t, w, []*sender{s}, l.userIDs[i], nil)
	}
}

// probe is what a client or an operator sees during an outage.
type probe struct {
	name   string
	status int
	took   time.Duration
	retry  string
}

func probes(t *testing.T, w *world, n *node, uid int, email string) []probe {
	t.Helper()
	tok := w.token(uid)
	timed := func(name string, fn func() (int, http.Header, error)) probe {
		start := time.Now()
		status, h, err := fn()
		p := probe{name: name, status: status, took: time.Since(start)}
		if err != nil {
			p.status = -1
		}
		if h != nil {
			p.retry = h.Get("Retry-After")
		}
		return p
	}
	return []probe{
		timed("GET /readyz", func() (int, http.Header, error) { return call("GET", n.url("/readyz"), "", nil, nil) }),
		timed("GET /api/users/me", func() (int, http.Header, error) { return call("GET", n.url("/api/users/me"), tok, nil, nil) }),
		timed("POST /api/login", func() (int, http.Header, error) {
			return call("POST", n.url("/api/login"), "", map[string]any{"creds": map[string]any{"email": email, "password": password}}, nil)
		}),
		timed("socket handshake", func() (int, http.Header, error) {
			req, _ := http.NewRequest("GET", n.url("/socket/websocket?vsn=2.0.0&token="+tok), nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			res, err := client.Do(req)
			if err != nil {
				return 0, nil, err
			}
			res.Body.Close()
			return res.StatusCode, res.Header, nil
		}),
	}
}

// TestPostgresOutage runs a steady send load on one node while its
// PostgreSQL is stopped for 5 s, then frozen (SIGSTOP) for 15 s. Before,
// every send, /readyz and /api/users/me hung for the whole freeze, and a
// stopped database gave 500s, "internal error" and 403 "invalid token" on
// the socket. Now: every send is answered (ok, or "unavailable" at its
// deadline), /readyz and REST answer 503 with Retry-After, a handshake
// 503, and no acknowledged message is lost.
func TestPostgresOutage(t *testing.T) {
	for _, c := range []struct {
		name     string
		outage   time.Duration
		fail     func(*storetest.Cluster, testing.TB)
		heal     func(*storetest.Cluster, testing.TB)
		probeLag time.Duration
	}{
		{"stopped", 5 * time.Second, (*storetest.Cluster).Stop, (*storetest.Cluster).Start, time.Second},
		{"frozen", 15 * time.Second, (*storetest.Cluster).Freeze, (*storetest.Cluster).Thaw, time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := storetest.StartCluster(t)
			dbURL := cl.CreateDatabase(t, "outage")
			w := newWorld(t, dbURL)
			env := baseEnv(dbURL)
			env["SEND_TIMEOUT"] = faultSendTimeout.String()
			n := startNode(t, "a", env)
			ids, emails := w.users(1)
			l := startLoad(t, w, []*node{n}, 8)
			time.Sleep(2 * time.Second)

			c.fail(cl, t)
			failedAt := time.Now()
			time.Sleep(c.probeLag)
			during := probes(t, w, n, ids[0], emails[0])
			time.Sleep(c.outage - time.Since(failedAt))
			c.heal(cl, t)
			healedAt := time.Now()
			for l.firstOKAfter(healedAt).IsZero() && time.Since(healedAt) < 30*time.Second {
				time.Sleep(10 * time.Millisecond)
			}
			recovered := l.firstOKAfter(healedAt).Sub(healedAt)
			time.Sleep(2 * time.Second)
			l.halt()

			acked, unavailable, noReply, closed, maxLat, _ := l.totals()
			for _, p := range during {
				t.Logf("FIGURE %s %v: %s answered %d in %v (Retry-After %q)", c.name, c.outage, p.name, p.status, p.took.Round(time.Millisecond), p.retry)
				if p.status != http.StatusServiceUnavailable {
					t.Errorf("%s while the database is %s: %d, want 503", p.name, c.name, p.status)
				}
				if p.name != "socket handshake" && p.retry == "" {
					t.Errorf("%s: 503 without Retry-After", p.name)
				}
			}
			t.Logf("FIGURE %s %v: %d acknowledged, %d answered unavailable, %d unanswered, %d cut; slowest reply %v (SEND_TIMEOUT %v); first ok %v after the database was back",
				c.name, c.outage, acked, unavailable, noReply, closed, maxLat.Round(time.Millisecond), faultSendTimeout, recovered.Round(time.Millisecond))
			if noReply > 0 || closed > 0 {
				t.Errorf("%d sends unanswered within %v and %d cut: every send must be answered", noReply, replyBound, closed)
			}
			if unavailable == 0 {
				t.Error("no send was answered unavailable during the outage")
			}
			if recovered <= 0 {
				t.Error("no send acknowledged after the database came back")
			}
			l.checkStored(t, w)
			if status, _, _ := call("GET", n.url("/readyz"), "", nil, nil); status != 200 {
				t.Errorf("/readyz after the outage: %d", status)
			}
		})
	}
}

// TestLockedConversation holds one conversation's row locked for 5 s, as
// a stuck transaction would, under a steady load on eight others. Before,
// one writer waited on the lock and every conversation with it. Now the
// others keep their latency, and the locked one's sends are answered
// unavailable at their deadline, then succeed once the lock is gone.
func TestLockedConversation(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	w := newWorld(t, dbURL)
	env := baseEnv(dbURL)
	env["SEND_TIMEOUT"] = faultSendTimeout.String()
	n := startNode(t, "a", env)
	others := startLoad(t, w, []*node{n}, 8)
	locked := startLoad(t, w, []*node{n}, 1)
	time.Sleep(3 * time.Second)
	_, _, _, _, _, before := others.totals()

	tx, err := w.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT id FROM conversations WHERE id = $1 FOR UPDATE`, locked.senders[0].conv); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	_, _, _, _, _, during := others.totals()
	during = during[len(before):]
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	for locked.firstOKAfter(released).IsZero() && time.Since(released) < 10*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	others.halt()
	locked.halt()

	acked, unavailable, noReply, _, _, _ := locked.totals()
	oAcked, oUnavailable, oNoReply, _, _, _ := others.totals()
	t.Logf("FIGURE row lock 5 s: other conversations p99 %v before, %v during the lock (%d sends); the locked conversation: %d unavailable at its %v deadline, first ok %v after the lock went",
		p99(before).Round(100*time.Microsecond), p99(during).Round(100*time.Microsecond), len(during),
		unavailable, faultSendTimeout, locked.firstOKAfter(released).Sub(released).Round(time.Millisecond))
	if oUnavailable > 0 || oNoReply > 0 {
		t.Errorf("other conversations: %d unavailable, %d unanswered while one was locked", oUnavailable, oNoReply)
	}
	if unavailable == 0 || noReply > 0 {
		t.Errorf("the locked conversation: %d unavailable, %d unanswered; want its sends answered unavailable", unavailable, noReply)
	}
	if acked == 0 || oAcked == 0 {
		t.Error("nothing acknowledged")
	}
	others.checkStored(t, w)
	locked.checkStored(t, w)
}

// TestSIGTERMUnderLoad stops a node with SIGTERM while 16 clients send.
// Before, 32 sends in flight got no reply at all, 8 of which had been
// stored. Now every send the node received is answered (ok, or
// unavailable) before its socket closes with 1001: a send cut by the close
// was never stored, and no acknowledged message is lost.
func TestSIGTERMUnderLoad(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	w := newWorld(t, dbURL)
	n := startNode(t, "a", baseEnv(dbURL))
	l := startLoad(t, w, []*node{n}, 16, func(s *sender) { s.once, s.every = true, 0 })
	time.Sleep(2 * time.Second)
	start := time.Now()
	if err := n.stop(); err != nil {
		t.Errorf("companyapi exited with %v after SIGTERM", err)
	}
	took := time.Since(start)
	l.halt()
	acked, unavailable, noReply, closed, _, _ := l.totals()
	storedCut := 0
	for i, s := range l.senders {
		rows := w.storedClientIDs(l.userIDs[i])
		for _, c := range s.cut {
			storedCut += rows[c]
		}
	}
	t.Logf("FIGURE SIGTERM under load (16 senders): %d acknowledged, %d answered unavailable, %d cut by the close, of which %d stored; stopped in %v",
		acked, unavailable, closed, storedCut, took.Round(time.Millisecond))
	if storedCut > 0 {
		t.Errorf("%d sends were stored but never answered", storedCut)
	}
	if noReply > 0 {
		t.Errorf("%d sends unanswered", noReply)
	}
	l.checkStored(t, w)
}
