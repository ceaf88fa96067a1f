package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// LoadResult is one closed-loop HTTP load run: the history scenario or
// its plain-handler floor.
type LoadResult struct {
	Target      string         `json:"target"`
	Concurrency int            `json:"concurrency"`
	Seconds     float64        `json:"seconds"`
	Requests    int64          `json:"requests"` // answered 200
	Errors      int64          `json:"errors"`
	ReqPerSec   float64        `json:"req_per_s"`
	Latency     Summary        `json:"latency"`
	Statuses    map[string]int `json:"statuses,omitempty"`
}

// HistoryLoad is what the history load generator asks for.
type HistoryLoad struct {
	Base        string // http://127.0.0.1:port
	Conv        int
	Token       string // bearer; the floor ignores it
	MinID       int
	MaxID       int
	Concurrency int
	Duration    time.Duration
}

// runHistory runs cfg.Concurrency clients, each GETting pages of 50 as fast
// as answers come: every other request the latest page, the others a page
// before a random message.
func runHistory(ctx context.Context, target string, cfg HistoryLoad) LoadResult {
	hc := newLoopDialer(0).HTTPClient(cfg.Concurrency)
	defer hc.CloseIdleConnections()
	res := LoadResult{Target: target, Concurrency: cfg.Concurrency}
	var (
		mu       sync.Mutex
		all      Hist
		statuses = map[string]int{}
		wg       sync.WaitGroup
	)
	latest := fmt.Sprintf("%s/api/conversations/%d/messages?limit=50", cfg.Base, cfg.Conv)
	start := time.Now()
	end := start.Add(cfg.Duration)
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h Hist
			local := map[string]int{}
			var errs int64
			for i := w; time.Now().Before(end) && ctx.Err() == nil; i++ {
				u := latest
				if i%2 == 1 && cfg.MaxID-cfg.MinID > 50 {
					u = fmt.Sprintf("%s&before=%d", latest, cfg.MinID+50+rand.IntN(cfg.MaxID-cfg.MinID-50))
				}
				t := time.Now()
				status, err := get(ctx, hc, u, cfg.Token)
				if err != nil {
					if ctx.Err() == nil {
						errs++
						local["error"]++
					}
					continue
				}
				local[fmt.Sprint(status)]++
				if status != http.StatusOK {
					errs++
					continue
				}
				h.Record(time.Since(t))
			}
			mu.Lock()
			defer mu.Unlock()
			all.Merge(&h)
			res.Errors += errs
			for k, v := range local {
				statuses[k] += v
			}
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Requests = int64(all.Count())
	res.ReqPerSec = float64(res.Requests) / res.Seconds
	res.Latency = all.Summary()
	res.Statuses = statuses
	logf("history %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors", target, res.ReqPerSec,
		res.Latency.P50MS, res.Latency.P99MS, res.Errors)
	return res
}

// get fetches u and reads the whole body.
func get(ctx context.Context, hc *http.Client, u, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}
