package system

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/storetest"
)

// BenchmarkQuietPairsNextToAFlood measures what one user's flood does to
// everyone else (before the send limit, a quiet pair's p99 went from 6 ms
// to 61-129 ms while one socket sent ~2 000 messages a second): one
// companyapi process on PostgreSQL, 4 quiet pairs on real sockets, their 8
// senders pushing send_msg in turn every 15 ms (8 a second each, under
// their own budget), each timed from the push to the partner's
// receive_msg; alone, next to one user flooding from 32 sockets (the most
// MAX_SOCKETS_PER_USER allows; each pushing send_msg again as soon as the
// last is answered: a socket's frames are handled one at a time, so more
// in flight on one socket would only wait in its buffers) with
// RATE_LIMIT_SEND=0, and with the default limit (10/s, bursts of 30). It
// reports the quiet deliveries' p50 and p99, and the flood's answers and
// stored messages a second. ns/op is the pacing.
//
//	go test -run '^$' -bench QuietPairsNextToAFlood -benchtime 2000x ./test/system/
func BenchmarkQuietPairsNextToAFlood(b *testing.B) {
	for _, c := range []struct {
		name  string
		flood bool
		limit string
	}{
		{"alone", false, "10"},
		{"flood, no limit", true, "0"},
		{"flood, limit 10 per s burst 30", true, "10"},
	} {
		b.Run(c.name, func(b *testing.B) {
			dbURL := storetest.PostgresURL(b)
			w := newWorld(b, dbURL)
			env := baseEnv(dbURL)
			env["RATE_LIMIT_SEND"], env["RATE_LIMIT_SEND_BURST"] = c.limit, "30"
			n := startNode(b, "a", env)
			ids, _ := w.users(10)

			// The quiet pairs: every user's socket reads its partner's messages.
			type sender struct {
				p             *phx
				partner, conv int
			}
			var quiet []sender
			var mu sync.Mutex
			sent := map[string]time.Time{}
			var lat []time.Duration
			for i := 0; i < 8; i += 2 {
				conv := w.conversation(ids[i], ids[i+1])
				a, z := dial(b, n, w.token(ids[i])), dial(b, n, w.token(ids[i+1]))
				quiet = append(quiet, sender{a, ids[i+1], conv}, sender{z, ids[i], conv})
				for _, p := range []*phx{a, z} {
					go func() {
						for ps := range p.pushes {
							if m, err := messageOf(ps.Payload); ps.Event == "receive_msg" && err == nil {
								at := time.Now()
								mu.Lock()
								if t0, ok := sent[m.Content]; ok {
									lat = append(lat, at.Sub(t0))
								}
								mu.Unlock()
							}
						}
					}()
				}
			}

			// The flood: one user, 32 sockets, each sending as fast as it is
			// answered, to a recipient with no socket.
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var answered, stored atomic.Int64
			if c.flood {
				fconv := w.conversation(ids[8], ids[9])
				token := w.token(ids[8])
				for range 32 {
					p := dial(b, n, token)
					wg.Add(1)
					go func() {
						defer wg.Done()
						payload := map[string]any{"user": ids[9], "conv": fconv, "message": "flood"}
						for ctx.Err() == nil {
							r, err := p.call("room:chat", "send_msg", payload, 10*time.Second)
							if err != nil {
								return
							}
							answered.Add(1)
							if r.Status == "ok" {
								stored.Add(1)
							}
						}
					}()
				}
				time.Sleep(time.Second) // past the burst, into the steady flood
			}

			answered.Store(0)
			stored.Store(0)
			tick := time.NewTicker(15 * time.Millisecond)
			start := time.Now()
			i := 0
			for b.Loop() {
				<-tick.C
				s := quiet[i%len(quiet)]
				key := "q" + strconv.Itoa(i)
				i++
				mu.Lock()
				sent[key] = time.Now()
				mu.Unlock()
				r, err := s.p.call("room:chat", "send_msg", map[string]any{"user": s.partner, "conv": s.conv, "message": key}, 10*time.Second)
				if err != nil || r.Status != "ok" {
					b.Fatalf("quiet send %s: %v %s", key, err, r.Response)
				}
			}
			elapsed := time.Since(start).Seconds()
			tick.Stop()
			stop()
			wg.Wait()
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				got := len(lat)
				mu.Unlock()
				if got == i || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(lat) != i {
				b.Fatalf("%d of %d quiet messages delivered", len(lat), i)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(answered.Load())/elapsed, "flood-answered/s")
			b.ReportMetric(float64(stored.Load())/elapsed, "flood-stored/s")
			if strings.Contains(n.out.String(), `"level":"ERROR"`) {
				b.Logf("node output:\n%s", n.out)
			}
		})
	}
}
