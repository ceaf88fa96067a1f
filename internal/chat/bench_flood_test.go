package chat_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/storetest"
)

// BenchmarkQuietPairsUnderFlood measures what one user's flood does to
// everyone else's sends, on PostgreSQL through SendMessage (which REST and
// the socket share): the latency of quiet users' sends (4 pairs, both ways,
// one send every 15 ms in turn: 8 a second each, under their own budget)
// alone, while one user floods from 32 connections (the most sockets a
// user may open; each sends again as soon as it is answered, at most every
// 250 µs, as the flooding socket of the report did at ~4 000/s) without a
// send limit, and with the default limit (10/s, bursts of 30). It reports the quiet sends' p50 and p99, and
// the flood's attempts and stored messages a second. ns/op is the pacing.
//
//	go test -run '^$' -bench QuietPairsUnderFlood -benchtime 600x ./internal/chat/
func BenchmarkQuietPairsUnderFlood(b *testing.B) {
	for _, c := range []struct {
		name        string
		flood       bool
		rate, burst int
	}{
		{"alone", false, 10, 30},
		{"flood, no limit", true, 0, 0},
		{"flood, limit 10 per s burst 30", true, 10, 30},
	} {
		b.Run(c.name, func(b *testing.B) {
			st := storetest.Postgres(b)
			svc := newServiceWith(b, st, func(cfg *chat.Config) { cfg.SendRate, cfg.SendBurst = c.rate, c.burst })
			ctx := context.Background()
			type sender struct{ user, conv int }
			var quiet []sender
			for i := range 4 {
				u1, u2 := mustUserTB(b, svc, fmt.Sprint("q", i, "a")), mustUserTB(b, svc, fmt.Sprint("q", i, "b"))
				conv, _, err := svc.CreateConversation(ctx, u1.ID, u2.ID)
				if err != nil {
					b.Fatal(err)
				}
				quiet = append(quiet, sender{u1.ID, conv.ID}, sender{u2.ID, conv.ID})
			}
			f1, f2 := mustUserTB(b, svc, "flooder"), mustUserTB(b, svc, "victim")
			fconv, _, err := svc.CreateConversation(ctx, f1.ID, f2.ID)
			if err != nil {
				b.Fatal(err)
			}

			fctx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			var attempts, stored atomic.Int64
			if c.flood {
				for range 32 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for fctx.Err() == nil {
							attempts.Add(1)
							if _, err := svc.SendMessage(fctx, chat.SendInput{SenderID: f1.ID, ConversationID: fconv.ID, Content: "flood"}); err == nil {
								stored.Add(1)
							}
							time.Sleep(250 * time.Microsecond)
						}
					}()
				}
				time.Sleep(500 * time.Millisecond) // past the burst, into the steady flood
			}
			send := func(q sender) time.Duration {
				t0 := time.Now()
				if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: q.user, ConversationID: q.conv, Content: "quiet"}); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0)
			}
			for i := range 8 { // warm the pool and the caches, within the budget
				send(quiet[i])
			}
			attempts.Store(0)
			stored.Store(0)
			tick := time.NewTicker(15 * time.Millisecond)
			lat := make([]time.Duration, 0, b.N)
			start := time.Now()
			i := 0
			for b.Loop() {
				<-tick.C
				lat = append(lat, send(quiet[i%len(quiet)]))
				i++
			}
			elapsed := time.Since(start).Seconds()
			tick.Stop()
			stop()
			wg.Wait()
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(attempts.Load())/elapsed, "flood-tries/s")
			b.ReportMetric(float64(stored.Load())/elapsed, "flood-stored/s")
		})
	}
}
