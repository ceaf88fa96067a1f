package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// IdleResult is one idle-socket run against the server or the bare floor.
type IdleResult struct {
	Target         string         `json:"target"`
	Sockets        int            `json:"sockets"`
	Workers        int            `json:"workers"`
	Established    int            `json:"established"`
	Failed         int            `json:"failed"`
	AliveAtEnd     int            `json:"alive_at_end"`
	ConnectSeconds float64        `json:"connect_s"`
	RSSBeforeKiB   int64          `json:"rss_before_kib"`
	RSSAfterKiB    int64          `json:"rss_after_kib"`
	KiBPerSocket   float64        `json:"kib_per_socket"`
	RSSHeldKiB     int64          `json:"rss_after_hold_kib,omitempty"` // with -hold: after it
	Errors         map[string]int `json:"errors,omitempty"`
}

// idleConfig sizes an idle run.
type idleConfig struct {
	Sockets   int
	PerWorker int
	Settle    time.Duration // after the last join, before RSS is read
	Hold      time.Duration // kept open after the RSS reading
	Heartbeat time.Duration
}

// holdIdle opens cfg.Sockets sockets to wsURL over worker processes (joined
// to room:chat when join), then reads the RSS growth of process pid.
func holdIdle(ctx context.Context, target, wsURL string, pid int, join bool, tokens []string, cfg idleConfig) (IdleResult, error) {
	res := IdleResult{Target: target, Sockets: cfg.Sockets}
	if len(tokens) < cfg.Sockets {
		return res, fmt.Errorf("idle: %d tokens for %d sockets", len(tokens), cfg.Sockets)
	}
	var err error
	if res.RSSBeforeKiB, err = readRSS(pid); err != nil {
		return res, err
	}
	logf("idle %s: %d sockets over %d worker(s), RSS before %d KiB", target, cfg.Sockets,
		(cfg.Sockets+cfg.PerWorker-1)/cfg.PerWorker, res.RSSBeforeKiB)
	start := time.Now()
	var workers []*child
	defer func() {
		for _, w := range workers {
			w.Stop(10 * time.Second) //nolint:errcheck // reported through its lines
		}
	}()
	for i := 0; i < cfg.Sockets; i += cfg.PerWorker {
		w, err := startSelf(fmt.Sprintf("worker%d", len(workers)), "-worker")
		if err != nil {
			return res, err
		}
		workers = append(workers, w)
		job := workerJob{URL: wsURL, Tokens: tokens[i:min(i+cfg.PerWorker, cfg.Sockets)], Join: join,
			Heartbeat: cfg.Heartbeat, Concurrency: 32, SrcOffset: len(workers) * 61}
		b, _ := json.Marshal(job)
		if _, err := w.stdin.Write(append(b, '\n')); err != nil {
			return res, fmt.Errorf("%s: %w", w.name, err)
		}
	}
	res.Workers = len(workers)
	errs := &errCounts{}
	for _, w := range workers {
		rep, err := workerLine(ctx, w, "ready")
		if err != nil {
			return res, err
		}
		res.Established += rep.Established
		res.Failed += rep.Failed
		errs.Merge(rep.Errors)
	}
	res.ConnectSeconds = time.Since(start).Seconds()
	res.Errors = errs.Map()
	logf("idle %s: %d established, %d failed in %.1fs; settling %v", target, res.Established, res.Failed,
		res.ConnectSeconds, cfg.Settle)
	sleep(ctx, cfg.Settle)
	if res.RSSAfterKiB, err = readRSS(pid); err != nil {
		return res, err
	}
	if res.Established > 0 {
		res.KiBPerSocket = float64(res.RSSAfterKiB-res.RSSBeforeKiB) / float64(res.Established)
	}
	logf("idle %s: RSS after %d KiB → %.2f KiB per socket", target, res.RSSAfterKiB, res.KiBPerSocket)
	if cfg.Hold > 0 {
		sleep(ctx, cfg.Hold)
		if res.RSSHeldKiB, err = readRSS(pid); err != nil {
			return res, err
		}
		logf("idle %s: RSS after holding %v: %d KiB → %.2f KiB per socket", target, cfg.Hold, res.RSSHeldKiB,
			float64(res.RSSHeldKiB-res.RSSBeforeKiB)/float64(max(res.Established, 1)))
	}
	for _, w := range workers {
		fmt.Fprintln(w.stdin, "stop")
	}
	for _, w := range workers {
		rep, err := workerLine(ctx, w, "done")
		if err != nil {
			return res, err
		}
		res.AliveAtEnd += rep.Alive
	}
	return res, ctx.Err()
}

// workerLine waits for the worker's report of phase.
func workerLine(ctx context.Context, w *child, phase string) (workerReport, error) {
	var rep workerReport
	_, err := w.Line(ctx, func(l string) bool {
		return strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &rep) == nil && rep.Phase == phase
	})
	return rep, err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
