package chat

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// pendingMessage is a validated, authorized message waiting for its commit.
type pendingMessage struct {
	content        string
	senderID       int
	conversationID int
	clientID       string // "" when the client named none
	// to and origin say whom to push the committed message to.
	to     []int
	origin string
}

type writeResult struct {
	msg Message
	err error
}

// States of a writeReq, moved by compare-and-swap: the sender abandons a
// request its deadline has passed, the writer takes one into a statement;
// whichever comes first wins, so an abandoned request is never written.
const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
)

type writeReq struct {
	m        pendingMessage
	deadline time.Time // zero: none
	state    atomic.Int32
	// done is buffered, so the writer never waits for a sender that gave up.
	done chan writeResult
}

// ErrClosed is returned for messages sent after Close.
var ErrClosed = &Error{Kind: KindUnavailable, Message: "server is shutting down"}

// batchWriter is a group commit: whatever messages arrive while a
// statement is in flight are committed together by the next one. A lone
// message is written at once (no timer), and under load one commit — the
// cost that bounds a naive one-insert-per-message design — carries many
// messages. Each sender is answered after its batch commits, or with
// ErrUnavailable when its deadline passes first: a sender never waits on
// the store past its deadline.
//
// Several lanes may run at once; a conversation always goes to the same
// one (conversation id modulo lanes), so this process writes a
// conversation's messages in the order they arrived. Across processes, the
// store's lock on the conversation row orders them (see insertBatchPG).
type batchWriter struct {
	s        *Service
	lanes    []*lane
	maxBatch int
	mu       sync.RWMutex
	closed   bool
	wg       sync.WaitGroup
}

func newBatchWriter(s *Service, lanes, maxBatch int) *batchWriter {
	w := &batchWriter{s: s, lanes: make([]*lane, lanes), maxBatch: maxBatch}
	w.wg.Add(lanes)
	for i := range w.lanes {
		l := &lane{w: w, in: make(chan *writeReq, maxBatch), waiting: map[int]*convWait{}, retrying: map[int]time.Duration{}}
		w.lanes[i] = l
		go func() {
			defer w.wg.Done()
			l.run()
		}()
	}
	return w
}

// write queues m and waits for its commit, until ctx ends.
func (w *batchWriter) write(ctx context.Context, m pendingMessage) (Message, error) {
	req := &writeReq{m: m, done: make(chan writeResult, 1)}
	req.deadline, _ = ctx.Deadline()
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return Message{}, ErrClosed
	}
	select {
	case w.lanes[m.conversationID%len(w.lanes)].in <- req:
	case <-ctx.Done():
		w.mu.RUnlock()
		return Message{}, ErrUnavailable
	}
	w.mu.RUnlock()
	select {
	case r := <-req.done:
		return r.msg, r.err
	case <-ctx.Done():
		// Not confirmed in time. Unless the writer took it already it now
		// never will; if it did, it may still commit, and a send repeated
		// with the same client_id returns it.
		req.state.CompareAndSwap(reqQueued, reqAbandoned)
		return Message{}, ErrUnavailable
	}
}

// close stops accepting messages and waits until every queued one has been
// committed or has failed (each is bounded by its sender's deadline).
func (w *batchWriter) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		for _, l := range w.lanes {
			close(l.in)
		}
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// lane is one writer goroutine and what it holds back.
type lane struct {
	w  *batchWriter
	in chan *writeReq // nil once closed and drained
	// waiting holds the messages of conversations whose row another
	// transaction had locked, oldest first, until their next try; later
	// messages of such a conversation queue behind them, so its order
	// holds, while every other conversation goes on being written.
	waiting map[int]*convWait
	// retrying holds, while a batch is being written, the backoff of each
	// waiting conversation it retries, so a row that stays locked is tried
	// less and less often.
	retrying map[int]time.Duration
	batch    []*writeReq
}

type convWait struct {
	reqs    []*writeReq
	retryAt time.Time
	backoff time.Duration
}

// Retry delays of a conversation whose row is locked: short, because the
// usual holder is another node's batch, which commits in milliseconds.
const (
	minLockBackoff = time.Millisecond
	maxLockBackoff = 32 * time.Millisecond
)

func (l *lane) run() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for l.in != nil || len(l.waiting) > 0 {
		var first *writeReq
		if len(l.waiting) == 0 {
			r, ok := <-l.in
			if !ok {
				return
			}
			first = r
		} else {
			timer.Reset(time.Until(l.nextRetry()))
			select {
			case r, ok := <-l.in:
				if ok {
					first = r
				} else {
					l.in = nil
				}
			case <-timer.C:
			}
			timer.Stop()
		}
		l.collect(first)
		if len(l.batch) > 0 {
			l.commit(l.batch)
		}
		clear(l.retrying)
	}
}

func (l *lane) nextRetry() time.Time {
	var next time.Time
	for _, c := range l.waiting {
		if next.IsZero() || c.retryAt.Before(next) {
			next = c.retryAt
		}
	}
	return next
}

// collect fills l.batch: first the waiting conversations whose turn has
// come (their messages are older than any new one), then first and
// whatever else is queued, up to maxBatch.
func (l *lane) collect(first *writeReq) {
	l.batch = l.batch[:0]
	now := time.Now()
	for id, c := range l.waiting {
		if !c.retryAt.After(now) {
			l.batch = append(l.batch, c.reqs...)
			l.retrying[id] = c.backoff
			delete(l.waiting, id)
		}
	}
	if first != nil {
		l.add(first)
	}
	for l.in != nil && len(l.batch) < l.w.maxBatch {
		select {
		case r, ok := <-l.in:
			if !ok {
				l.in = nil
				return
			}
			l.add(r)
		default:
			return
		}
	}
}

func (l *lane) add(r *writeReq) {
	if c, ok := l.waiting[r.m.conversationID]; ok {
		c.reqs = append(c.reqs, r)
		return
	}
	l.batch = append(l.batch, r)
}

// commit takes the batch's live requests into one statement and answers
// each: committed, repeated (a client_id seen before), failed, or — its
// conversation's row locked elsewhere — back to waiting.
func (l *lane) commit(batch []*writeReq) {
	now := time.Now()
	taken := batch[:0]
	var deadline time.Time
	for _, r := range batch {
		if (!r.deadline.IsZero() && !now.Before(r.deadline)) || !r.state.CompareAndSwap(reqQueued, reqTaken) {
			r.done <- writeResult{err: ErrUnavailable}
			continue
		}
		taken = append(taken, r)
		if r.deadline.IsZero() {
			deadline = now.Add(l.w.s.sendTimeout)
		} else if r.deadline.After(deadline) {
			deadline = r.deadline
		}
	}
	if len(taken) == 0 {
		return
	}
	// The statement serves many senders: it runs until the last of them
	// gives up, never longer than a send may take.
	if limit := now.Add(l.w.s.sendTimeout); deadline.After(limit) {
		deadline = limit
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	outs, err := l.w.s.insertBatch(ctx, taken)
	if retryable(err) {
		outs, err = l.w.s.insertBatch(ctx, taken)
	}
	l.w.s.observeCommit(len(taken), outs, err, time.Since(start))
	if err != nil {
		if len(taken) > 1 && KindOf(err) != KindUnavailable {
			// One bad message (its conversation deleted meanwhile, say)
			// must not fail the others: each is tried alone.
			for _, r := range taken {
				r.state.Store(reqQueued)
				l.commit([]*writeReq{r})
			}
			return
		}
		for _, r := range taken {
			r.done <- writeResult{err: err}
		}
		return
	}
	var stored []Event
	for i, r := range taken {
		if o := outs[i]; !o.skipped && o.err == nil && !o.msg.Repeat {
			stored = append(stored, MessageStored{Message: o.msg, Prev: o.msg.Prev, To: r.m.to, Origin: r.m.origin})
		}
	}
	if len(stored) > 0 {
		// Announced here, in commit order, before the senders' answers, so
		// a sender's other devices never see its reply before the push.
		l.w.s.events.Announce(stored...)
	}
	for i, r := range taken {
		switch o := outs[i]; {
		case o.skipped:
			r.state.Store(reqQueued)
			l.wait(r)
		case o.err != nil:
			r.done <- writeResult{err: o.err}
		default:
			r.done <- writeResult{msg: o.msg}
		}
	}
}

// wait puts r back at the end of its conversation's waiting list (commit
// hands them back oldest first), with a backoff that grows while the row
// stays locked.
func (l *lane) wait(r *writeReq) {
	id := r.m.conversationID
	c, ok := l.waiting[id]
	if !ok {
		backoff := minLockBackoff
		if b, ok := l.retrying[id]; ok {
			backoff = min(2*b, maxLockBackoff)
		}
		c = &convWait{retryAt: time.Now().Add(backoff), backoff: backoff}
		l.waiting[id] = c
	}
	c.reqs = append(c.reqs, r)
}

// observeCommit reports one statement: its size, what it committed, what
// waits for a locked row, how long it took, and whether it failed.
func (s *Service) observeCommit(n int, outs []outcome, err error, d time.Duration) {
	if s.metrics == nil {
		return
	}
	committed, waiting := 0, 0
	if err == nil {
		for _, o := range outs {
			switch {
			case o.skipped:
				waiting++
			case o.err == nil && !o.msg.Repeat:
				committed++
			}
		}
	}
	s.metrics.Commit(n, committed, waiting, d, err != nil)
}

// outcome is what became of one message of a batch.
type outcome struct {
	msg Message
	// skipped: its conversation's row was locked by another transaction,
	// so it was not written; try again later.
	skipped bool
	err     error // its own failure (a client_id used for another conversation)
}

// insertBatch writes a batch in one transaction on either store.
func (s *Service) insertBatch(ctx context.Context, batch []*writeReq) ([]outcome, error) {
	date := s.nowUTC()
	if s.pg != nil {
		return s.pg.insert(ctx, batch, date)
	}
	return s.insertBatchSQLite(ctx, batch, date)
}

// retryable reports PostgreSQL errors that a new attempt may not meet:
// serialization failures and deadlocks.
func retryable(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}
