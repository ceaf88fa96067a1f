package main

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"
)

// One run of the pairs scenario at one rate, its verdict, and the ramp to
// the max sustained rate.

// step sends at rate for d (open loop: each message at its scheduled time,
// latencies from that time), waits for stragglers, and judges the run.
func (b *pairsBench) step(ctx context.Context, rate float64, d time.Duration, bound time.Duration) Step {
	n := max(int(rate*d.Seconds()), 1)
	b.mu.Lock()
	r := &pairsRun{id: len(b.runs), rate: rate, d: d, recs: make([]msgRec, n)}
	b.runs = append(b.runs, r)
	b.mu.Unlock()
	logf("pairs: %.0f msgs/s for %v (%d messages over %d pairs)", rate, d, n, len(b.senders))
	start := b.now() + int64(10*time.Millisecond)
	gs := min(8, len(b.senders))
	var wg sync.WaitGroup
	for g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 256)
			for i := g; i < n && ctx.Err() == nil; i += gs {
				due := start + int64(float64(i)*1e9/rate)
				if wait := due - b.now(); wait > 0 {
					time.Sleep(time.Duration(wait))
				}
				p := i % len(b.senders)
				buf = appendSendMsg(buf[:0], r.id, i, b.recipIDs[p], b.convs[p])
				r.recs[i].sched.Store(due)
				if err := b.senders[p].SendRaw(ctx, buf); err != nil {
					r.sendErrors.Add(1)
					r.recs[i].failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	b.settle(ctx, r, 2*time.Second)
	s := judge(r, bound)
	logf("pairs: %.0f msgs/s → delivered %.0f/s, p99 delivery %.1f ms, ack p99 %.1f ms, errors %d, undelivered %d: %s",
		rate, s.DeliveredPerSec, s.Deliver.P99MS, s.Ack.P99MS, s.Errors+s.SendErrors, s.Undelivered, okWhy(s))
	return s
}

// appendSendMsg encodes send_msg number seq of run, its ref and content
// both carrying "run.seq".
func appendSendMsg(dst []byte, run, seq, user, conv int) []byte {
	id := strconv.Itoa(run) + "." + strconv.Itoa(seq)
	dst = append(dst, `["1","`...)
	dst = append(dst, id...)
	dst = append(dst, `","room:chat","send_msg",{"user":`...)
	dst = strconv.AppendInt(dst, int64(user), 10)
	dst = append(dst, `,"conv":`...)
	dst = strconv.AppendInt(dst, int64(conv), 10)
	dst = append(dst, `,"message":"cb `...)
	dst = append(dst, id...)
	return append(dst, ` hello from chatbench, a chat line of ordinary length"}]`...)
}

// outstanding counts messages sent without a reply yet, or acked and not
// yet delivered.
func outstanding(r *pairsRun) int {
	n := 0
	for i := range r.recs {
		m := &r.recs[i]
		if m.sched.Load() == 0 || m.failed.Load() {
			continue
		}
		if m.ack.Load() == 0 || m.deliv.Load() == 0 {
			n++
		}
	}
	return n
}

// settle waits until r has nothing outstanding, or grace passed.
func (b *pairsBench) settle(ctx context.Context, r *pairsRun, grace time.Duration) {
	end := time.Now().Add(grace)
	for outstanding(r) > 0 && time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *pairsBench) settleAll(ctx context.Context, grace time.Duration) {
	b.mu.RLock()
	runs := append([]*pairsRun{}, b.runs...)
	b.mu.RUnlock()
	end := time.Now().Add(grace)
	for _, r := range runs {
		b.settle(ctx, r, time.Until(end))
	}
}

// judge summarises a run: a step passes with no errors, nothing left
// behind, and p99 send→delivery within bound.
func judge(r *pairsRun, bound time.Duration) Step {
	var dh, ah Hist
	s := Step{Rate: r.rate, Seconds: r.d.Seconds(), SendErrors: r.sendErrors.Load()}
	for i := range r.recs {
		m := &r.recs[i]
		sched := m.sched.Load()
		if sched == 0 {
			continue
		}
		s.Sent++
		ack, deliv := m.ack.Load(), m.deliv.Load()
		switch {
		case m.failed.Load():
			if ack > 0 {
				s.Errors++
			}
		case ack > 0:
			s.Acked++
			ah.Record(time.Duration(ack - sched))
		}
		if deliv > 0 {
			s.Delivered++
			dh.Record(time.Duration(deliv - sched))
		} else if ack > 0 && !m.failed.Load() {
			s.Undelivered++
		}
	}
	s.DeliveredPerSec = float64(s.Delivered) / r.d.Seconds()
	s.Deliver, s.Ack = dh.Summary(), ah.Summary()
	s.ErrorReasons = r.reasons.Map()
	behind := s.Sent - s.Delivered - s.Errors - s.SendErrors
	switch {
	case s.Errors+s.SendErrors > 0:
		s.Why = "errors"
	case float64(behind) > math.Max(1, 0.001*float64(s.Sent)):
		s.Why = "delivery fell behind"
	case dh.Quantile(0.99) > bound:
		s.Why = "p99 over bound"
	default:
		s.OK = true
	}
	return s
}

func okWhy(s Step) string {
	if s.OK {
		return "ok"
	}
	return s.Why
}

// ramp raises the rate by half each step until one fails (twice in a row
// if only its p99 was over the bound), bisects the gap (cfg.Bisections
// times, or until it is within cfg.Precision), then, unless cfg.NoSteady,
// runs at half the max sustained rate for cfg.Duration.
func (b *pairsBench) ramp(ctx context.Context, cfg PairsConfig, res *PairsResult) {
	if cfg.Bisections <= 0 {
		cfg.Bisections = 3
	}
	if cfg.Precision <= 0 {
		cfg.Precision = 0.1
	}
	lo, hi := 0.0, math.Inf(1) // lo passed, hi failed
	var best Step
	bisections := 0
	for rate := cfg.StartRate; ctx.Err() == nil && rate >= 10; {
		s := b.step(ctx, math.Round(rate), cfg.Step, cfg.Bound)
		res.Steps = append(res.Steps, s)
		if !s.OK && s.Why == "p99 over bound" && ctx.Err() == nil {
			// One hiccup (a checkpoint, a neighbour on a shared machine)
			// should not end the ramp: a rate fails when it fails twice.
			logf("pairs: %.0f msgs/s again, to confirm", s.Rate)
			b.settleAll(ctx, 10*time.Second)
			s = b.step(ctx, s.Rate, cfg.Step, cfg.Bound)
			res.Steps = append(res.Steps, s)
		}
		if s.OK {
			lo, best = s.Rate, s
		} else {
			hi = s.Rate
			// Let a backlog drain before the next step.
			b.settleAll(ctx, 10*time.Second)
		}
		if !math.IsInf(hi, 1) {
			if bisections++; bisections > cfg.Bisections || (lo > 0 && (hi-lo)/lo < cfg.Precision) {
				break
			}
			rate = (lo + hi) / 2
		} else {
			rate = lo * 1.5
		}
		if rate > 200000 {
			break
		}
	}
	res.MaxRate, res.MaxDeliveredPerSec = lo, best.DeliveredPerSec
	if lo > 0 && ctx.Err() == nil && !cfg.NoSteady {
		logf("pairs: max sustained %.0f msgs/s; now half of it for %v", lo, cfg.Duration)
		s := b.step(ctx, math.Round(lo/2), cfg.Duration, cfg.Bound)
		res.Steady = &s
	}
}
