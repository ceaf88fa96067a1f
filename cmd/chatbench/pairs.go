package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// PairsConfig sizes the pairs scenario.
type PairsConfig struct {
	Pairs     int
	Rate      float64       // fixed total rate, msgs/s (when !Max)
	Max       bool          // ramp to the max sustained rate, then run at half of it
	StartRate float64       // the ramp's first step
	Duration  time.Duration // the fixed-rate (or half-max) run
	Step      time.Duration // each ramp step
	Bound     time.Duration // p99 send→delivery a step may not pass
	// The ramp ends after Bisections bisections, or once the gap between
	// the best passing and the lowest failing rate is under Precision of
	// the former; defaults 3 and 0.1.
	Bisections int
	Precision  float64
	NoSteady   bool // no half-max run after the ramp
}

// Step is one run at one rate.
type Step struct {
	Rate            float64        `json:"rate"`
	Seconds         float64        `json:"seconds"`
	Sent            int64          `json:"sent"`
	SendErrors      int64          `json:"send_errors"`
	Acked           int64          `json:"acked"`
	Errors          int64          `json:"errors"`
	Delivered       int64          `json:"delivered"`
	Undelivered     int64          `json:"undelivered"` // acked, not delivered when judged
	DeliveredPerSec float64        `json:"delivered_per_s"`
	Deliver         Summary        `json:"send_to_delivery"`
	Ack             Summary        `json:"send_to_ack"`
	OK              bool           `json:"ok"`
	Why             string         `json:"why,omitempty"`
	ErrorReasons    map[string]int `json:"error_reasons,omitempty"`
}

// PairsResult is the whole pairs scenario.
type PairsResult struct {
	Pairs              int            `json:"pairs"`
	Established        int            `json:"established"`
	ConnectFailed      int            `json:"connect_failed"`
	ConnectSeconds     float64        `json:"connect_s"`
	Mode               string         `json:"mode"`
	BoundMS            float64        `json:"p99_bound_ms"`
	Steps              []Step         `json:"steps,omitempty"`
	MaxRate            float64        `json:"max_rate,omitempty"`
	MaxDeliveredPerSec float64        `json:"max_delivered_per_s,omitempty"`
	Steady             *Step          `json:"steady,omitempty"`
	Lost               int64          `json:"lost"`
	ConnectErrors      map[string]int `json:"connect_errors,omitempty"`
	// Closed counts sockets that stopped reading before the end, by why
	// (the server's close code and reason, or the client's read error).
	Closed map[string]int `json:"closed,omitempty"`
}

// msgRec is one send_msg: times in ns since the scenario's base.
type msgRec struct {
	sched, ack, deliv atomic.Int64
	failed            atomic.Bool
}

type pairsRun struct {
	id         int
	rate       float64
	d          time.Duration
	recs       []msgRec
	sendErrors atomic.Int64
	reasons    errCounts
}

// pairsBench is the connected pairs and every run's records.
type pairsBench struct {
	base       time.Time
	senders    []*phxClient
	recipients []*phxClient
	recipIDs   []int
	convs      []int
	mu         sync.RWMutex
	runs       []*pairsRun
	closedMu   sync.Mutex
	closed     map[string]int
}

// noteClosed records why a socket's reader stopped, unless the run ended.
func (b *pairsBench) noteClosed(ctx context.Context, role string, err error) {
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return // the run ended, or the bench closed the socket itself
	}
	why := err.Error()
	if ce := (websocket.CloseError{}); errors.As(err, &ce) {
		why = fmt.Sprintf("%d %s", ce.Code, ce.Reason)
	}
	b.closedMu.Lock()
	if b.closed == nil {
		b.closed = map[string]int{}
	}
	b.closed[role+": "+why]++
	b.closedMu.Unlock()
}

func (b *pairsBench) now() int64 { return int64(time.Since(b.base)) }

// rec finds the record named by "run.seq".
func (b *pairsBench) rec(id string) (*pairsRun, *msgRec) {
	r, s, ok := strings.Cut(id, ".")
	ri, err1 := strconv.Atoi(r)
	si, err2 := strconv.Atoi(s)
	if !ok || err1 != nil || err2 != nil {
		return nil, nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if ri < 0 || ri >= len(b.runs) || si < 0 || si >= len(b.runs[ri].recs) {
		return nil, nil
	}
	return b.runs[ri], &b.runs[ri].recs[si]
}

// runPairs connects the pairs and runs the fixed rate or the ramp.
// runPairs runs the pairs scenario with the senders on sendBase and the
// recipients on recvBase (the same server, or two nodes of one cluster).
func runPairs(ctx context.Context, sendBase, recvBase string, f *fixture, cfg PairsConfig) (PairsResult, error) {
	res := PairsResult{Pairs: cfg.Pairs, Mode: "fixed", BoundMS: ms(cfg.Bound)}
	if cfg.Max {
		res.Mode = "max"
	}
	b := &pairsBench{base: time.Now()}
	start := time.Now()
	if err := b.connect(ctx, sendBase, recvBase, f, cfg.Pairs, &res); err != nil {
		return res, err
	}
	defer func() {
		for _, c := range append(b.senders, b.recipients...) {
			c.Close()
		}
	}()
	res.ConnectSeconds = time.Since(start).Seconds()
	logf("pairs: %d sockets joined, %d failed in %.1fs", res.Established, res.ConnectFailed, res.ConnectSeconds)
	if res.ConnectFailed > 0 || len(b.senders) == 0 {
		return res, ctx.Err()
	}
	hbCtx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	// Heartbeats every 15 s, not phoenix.js's 30: in the ramp's overload
	// steps this client is starved of CPU, and a heartbeat late past the
	// server's 60 s idle timeout would close a recipient and count its
	// messages as lost — the client's fault, not the server's.
	go heartbeat(hbCtx, append(append([]*phxClient{}, b.senders...), b.recipients...), 15*time.Second)

	if !cfg.Max {
		s := b.step(ctx, cfg.Rate, cfg.Duration, cfg.Bound)
		res.Steady = &s
	} else {
		b.ramp(ctx, cfg, &res)
	}
	// Lost: acknowledged, never delivered by the end (plus a grace).
	b.settleAll(ctx, 5*time.Second)
	b.mu.RLock()
	for _, r := range b.runs {
		for i := range r.recs {
			m := &r.recs[i]
			if m.ack.Load() > 0 && !m.failed.Load() && m.deliv.Load() == 0 {
				res.Lost++
			}
		}
	}
	b.mu.RUnlock()
	b.closedMu.Lock()
	res.Closed = b.closed
	b.closedMu.Unlock()
	return res, ctx.Err()
}

// connect dials and joins a sender and a recipient socket per pair, and
// starts their readers.
func (b *pairsBench) connect(ctx context.Context, sendBase, recvBase string, f *fixture, pairs int, res *PairsResult) error {
	job := workerJob{URL: wsURLOf(sendBase), Tokens: f.tokens[:2*pairs], Join: true, Concurrency: 32}
	recvJob := job
	recvJob.URL = wsURLOf(recvBase)
	hc := newLoopDialer(0).HTTPClient(0)
	socks := make([]*phxClient, 2*pairs)
	errs := &errCounts{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(socks) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				j := job
				if i%2 == 1 {
					j = recvJob
				}
				p, err := connectOne(ctx, hc, j, job.Tokens[i])
				if err != nil {
					errs.Add(err.Error())
					continue
				}
				socks[i] = p
			}
		}()
	}
	wg.Wait()
	res.ConnectErrors = errs.Map()
	for i := 0; i < pairs; i++ {
		s, r := socks[2*i], socks[2*i+1]
		if s == nil || r == nil {
			res.ConnectFailed += 2
			if s != nil {
				s.Close()
			}
			if r != nil {
				r.Close()
			}
			continue
		}
		res.Established += 2
		b.senders = append(b.senders, s)
		b.recipients = append(b.recipients, r)
		b.recipIDs = append(b.recipIDs, f.users[2*i+1])
		b.convs = append(b.convs, f.pairConvs[i])
		go b.readSender(ctx, s)
		go b.readRecipient(ctx, r)
	}
	return ctx.Err()
}

// readSender records send_msg replies: ok is an ack, anything else an error.
func (b *pairsBench) readSender(ctx context.Context, c *phxClient) {
	for {
		f, err := c.Read(ctx)
		if err != nil {
			b.noteClosed(ctx, "sender", err)
			return
		}
		if f.Event != "phx_reply" || f.Topic != "room:chat" {
			continue
		}
		run, m := b.rec(f.Ref)
		if m == nil {
			continue
		}
		now := b.now()
		if r, err := decodeReply(f.Payload); err != nil || r.Status != "ok" {
			m.failed.Store(true)
			run.reasons.Add(r.Reason())
		}
		m.ack.CompareAndSwap(0, now)
	}
}

// readRecipient records receive_msg pushes by the id in their content.
func (b *pairsBench) readRecipient(ctx context.Context, c *phxClient) {
	for {
		f, err := c.Read(ctx)
		if err != nil {
			b.noteClosed(ctx, "recipient", err)
			return
		}
		if f.Event != "receive_msg" {
			continue
		}
		now := b.now()
		var p PushedMessage
		if json.Unmarshal(f.Payload, &p) != nil {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(p.Message.Content, "cb "), " ")
		if _, m := b.rec(id); m != nil {
			m.deliv.CompareAndSwap(0, now)
		}
	}
}
