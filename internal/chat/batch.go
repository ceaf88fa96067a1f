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
// request when its context ends, the writer takes one into a statement;
// whichever comes first wins, so an abandoned request is never written. A
// request abandoned while taken may still be written by the statement that
// holds it, but the writer never hands it to another one: a statement that
// fails or skips it is the last.
const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
	reqTakenAbandoned
)

type writeReq struct {
	m        pendingMessage
	deadline time.Time // zero: none
	state    atomic.Int32
	// done is buffered, so the writer never waits for a sender that gave up.
	done chan writeResult
}

// abandon records that the sender gave up: a queued request is never
// taken, a taken one never taken again.
func (r *writeReq) abandon() {
	for {
		switch r.state.Load() {
		case reqQueued:
			if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
				return
			}
		case reqTaken:
			if r.state.CompareAndSwap(reqTaken, reqTakenAbandoned) {
				return
			}
		default:
			return
		}
	}
}

// requeue moves a taken request, which its statement did not write, back
// to queued for another one. A request whose sender gave up meanwhile is
// answered and dropped instead (false): the sender was told unavailable,
// so it must not be written now.
func (r *writeReq) requeue() bool {
	if r.state.CompareAndSwap(reqTaken, reqQueued) {
		return true
	}
	r.done <- writeResult{err: ErrUnavailable}
	return false
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
	hooks    batchHooks
}

// batchHooks let tests hold the writer where a sender's giving up races
// it; all nil outside tests, and set before the first send.
type batchHooks struct {
	// queued runs once a request is in its lane.
	queued func(r *writeReq)
	// beforeInsert runs before each statement; an error fails the
	// statement, as if the store had returned it, without running it.
	beforeInsert func(batch []*writeReq) error
	// afterInsert runs after each statement, before its senders hear.
	afterInsert func(batch []*writeReq)
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
	if h := w.hooks.queued; h != nil {
		h(req)
	}
	return await(ctx, req)
}

// await waits for req's answer until ctx ends.
func await(ctx context.Context, req *writeReq) (Message, error) {
	select {
	case r := <-req.done:
		return r.msg, r.err
	case <-ctx.Done():
	}
	// Not confirmed in time. Unless the writer took it already it now never
	// will. If a statement holds it, that statement may still commit it (at
	// the latest by the batch's last deadline): that window is inherent,
	// and a send repeated with the same client_id returns it as a repeat.
	// No later statement takes it.
	req.abandon()
	// select picks at random among ready cases: an answer there as ctx
	// ended, or since, is the sender's.
	select {
	case r := <-req.done:
		return r.msg, r.err
	default:
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
		// Past its deadline, or abandoned by its sender: left out.
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
	outs, err := l.insert(ctx, taken)
	if retryable(err) {
		// Nothing was written: whoever gave up meanwhile is left out.
		if taken = live(taken); len(taken) == 0 {
			return
		}
		outs, err = l.insert(ctx, taken)
	}
	l.w.s.observeCommit(len(taken), outs, err, time.Since(start))
	if err != nil {
		if len(taken) > 1 && KindOf(err) != KindUnavailable {
			// One bad message (its conversation deleted meanwhile, say)
			// must not fail the others: each is tried alone, in order. Once
			// one goes to waiting (its row locked), the later ones of its
			// conversation wait behind it, or they would be written first.
			for _, r := range taken {
				if !r.requeue() {
					continue
				}
				if _, waits := l.waiting[r.m.conversationID]; waits {
					l.wait(r)
					continue
				}
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
		// On PostgreSQL a repeat is announced again: its first sender may
		// have been told "unavailable" for a commit whose answer the
		// connection lost, which announced nothing. Sockets drop a message
		// they pushed already. On SQLite a commit is never in doubt.
		if o := outs[i]; !o.skipped && o.err == nil && (!o.msg.Repeat || !l.w.s.isSQLite) {
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
			if r.requeue() {
				l.wait(r)
			}
		case o.err != nil:
			r.done <- writeResult{err: o.err}
		default:
			r.done <- writeResult{msg: o.msg}
		}
	}
}

// live answers and drops the taken requests whose senders gave up.
func live(taken []*writeReq) []*writeReq {
	kept := taken[:0]
	for _, r := range taken {
		if r.state.Load() == reqTakenAbandoned {
			r.done <- writeResult{err: ErrUnavailable}
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// insert runs one statement for batch, between the test hooks.
func (l *lane) insert(ctx context.Context, batch []*writeReq) ([]outcome, error) {
	if h := l.w.hooks.beforeInsert; h != nil {
		if err := h(batch); err != nil {
			return nil, err
		}
	}
	outs, err := l.w.s.insertBatch(ctx, batch)
	if h := l.w.hooks.afterInsert; h != nil {
		h(batch)
	}
	return outs, err
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
