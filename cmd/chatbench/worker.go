package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// One process may hold at most RLIMIT_NOFILE descriptors (20 000 here, not
// raisable), so idle sockets are spread over worker processes: chatbench
// re-executes itself with -worker, sends a workerJob as one JSON line on the
// worker's stdin, and reads workerReports as JSON lines from its stdout.

// workerJob is what one worker connects.
type workerJob struct {
	URL         string        `json:"url"`    // ws://…/socket/websocket?vsn=2.0.0
	Tokens      []string      `json:"tokens"` // one socket per token
	Join        bool          `json:"join"`   // join room:chat and wait for the reply
	Heartbeat   time.Duration `json:"heartbeat"`
	Concurrency int           `json:"concurrency"`
	SrcOffset   int           `json:"src_offset"`
}

// workerReport is a worker's "ready" line (all sockets tried) and its
// "done" line (after stop).
type workerReport struct {
	Phase       string         `json:"phase"`
	Established int            `json:"established"`
	Failed      int            `json:"failed"`
	Alive       int            `json:"alive"`
	Seconds     float64        `json:"seconds"`
	Errors      map[string]int `json:"errors,omitempty"`
}

// errCounts counts errors by message, keeping a bounded number of kinds.
type errCounts struct {
	mu sync.Mutex
	m  map[string]int
}

func (e *errCounts) Add(err string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]int{}
	}
	if len(err) > 120 {
		err = err[:120]
	}
	if _, ok := e.m[err]; !ok && len(e.m) >= 20 {
		err = "other"
	}
	e.m[err]++
}

func (e *errCounts) Map() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out
}

func (e *errCounts) Merge(m map[string]int) {
	for k, v := range m {
		for range v {
			e.Add(k)
		}
	}
}

// runWorker is the -worker mode: connect the job's sockets, report, hold
// them (heartbeating) until stdin says stop or closes, report again.
func runWorker(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReader(stdin)
	var job workerJob
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("worker: read job: %w", err)
	}
	if err := json.Unmarshal(line, &job); err != nil {
		return fmt.Errorf("worker: job: %w", err)
	}
	enc := json.NewEncoder(stdout)
	start := time.Now()
	socks, errs := connectAll(ctx, job)
	var dead atomic.Int64
	for _, s := range socks {
		go func() {
			for {
				if _, err := s.Read(ctx); err != nil {
					dead.Add(1)
					return
				}
			}
		}()
	}
	rep := workerReport{Phase: "ready", Established: len(socks), Failed: len(job.Tokens) - len(socks),
		Seconds: time.Since(start).Seconds(), Errors: errs.Map()}
	if err := enc.Encode(rep); err != nil {
		return err
	}

	hbCtx, stopHB := context.WithCancel(ctx)
	go heartbeat(hbCtx, socks, job.Heartbeat)
	stop := make(chan struct{})
	go func() {
		in.ReadBytes('\n') //nolint:errcheck // any line or EOF means stop
		close(stop)
	}()
	select {
	case <-stop:
	case <-ctx.Done():
	}
	stopHB()
	rep = workerReport{Phase: "done", Established: len(socks), Alive: len(socks) - int(dead.Load())}
	for _, s := range socks {
		s.Close()
	}
	return enc.Encode(rep)
}

// connectAll dials (and joins) one socket per token, job.Concurrency at a
// time.
func connectAll(ctx context.Context, job workerJob) ([]*phxClient, *errCounts) {
	d := newLoopDialer(job.SrcOffset)
	hc := d.HTTPClient(0)
	var (
		mu    sync.Mutex
		socks = make([]*phxClient, 0, len(job.Tokens))
		errs  = &errCounts{}
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	for range max(job.Concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(job.Tokens) || ctx.Err() != nil {
					return
				}
				p, err := connectOne(ctx, hc, job, job.Tokens[i])
				if err != nil {
					errs.Add(err.Error())
					continue
				}
				mu.Lock()
				socks = append(socks, p)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return socks, errs
}

func connectOne(ctx context.Context, hc *http.Client, job workerJob, token string) (*phxClient, error) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	p, err := dialPhx(cctx, hc, job.URL, token)
	if err != nil {
		return nil, err
	}
	if job.Join {
		err = p.Join(cctx, "room:chat")
	} else {
		// The bare floor only reads: send the same join frame, expect nothing.
		err = p.Send(cctx, Frame{JoinRef: "1", Ref: "1", Topic: "room:chat", Event: "phx_join"})
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// heartbeat sends each socket a heartbeat every period, spread evenly over
// the period, as phoenix.js clients starting at random times would.
func heartbeat(ctx context.Context, socks []*phxClient, period time.Duration) {
	if period <= 0 || len(socks) == 0 {
		return
	}
	gap := period / time.Duration(len(socks))
	next := time.Now().Add(period)
	for ref := 1; ; ref++ {
		for _, s := range socks {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(next)):
			}
			next = next.Add(gap)
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			s.Heartbeat(wctx, fmt.Sprint(ref)) //nolint:errcheck // a dead socket is counted by its reader
			cancel()
		}
	}
}
