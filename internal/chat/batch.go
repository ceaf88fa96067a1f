package chat

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/conversation"
)

// pendingMessage is a validated, authorized message waiting for its commit.
type pendingMessage struct {
	content        string
	senderID       int
	conversationID int
	// to and origin say whom to push the committed message to.
	to     []int
	origin string
}

type writeResult struct {
	msg Message
	err error
}

type writeReq struct {
	m    pendingMessage
	done chan writeResult
}

// ErrClosed is returned for messages sent after Close.
var ErrClosed = &Error{Kind: KindUnavailable, Message: "server is shutting down"}

// batchWriter is a group commit: whatever messages arrive while a
// transaction is in flight are committed together in the next one. A lone
// message is written at once (no timer), and under load one commit — the
// cost that bounds a naive one-insert-per-message design — carries many
// messages. Each sender is answered only after its batch commits.
//
// Several writers run at once, but a conversation always goes to the same
// one (conversation id modulo writers). Its messages therefore get their
// ids and commit in the same order, so a client reading ?after=<last id>
// can never skip a message that commits later with a smaller id, and its
// pushes go out in that order too. Writers never touch the same
// conversation rows, so they do not wait on each other's locks.
type batchWriter struct {
	s        *Service
	shards   []chan *writeReq
	maxBatch int
	mu       sync.RWMutex
	closed   bool
	wg       sync.WaitGroup
}

func newBatchWriter(s *Service, workers, maxBatch int) *batchWriter {
	w := &batchWriter{s: s, shards: make([]chan *writeReq, workers), maxBatch: maxBatch}
	w.wg.Add(workers)
	for i := range w.shards {
		w.shards[i] = make(chan *writeReq, maxBatch)
		go w.loop(w.shards[i])
	}
	return w
}

var donePool = sync.Pool{New: func() any { return make(chan writeResult, 1) }}

func (w *batchWriter) write(ctx context.Context, m pendingMessage) (Message, error) {
	req := &writeReq{m: m, done: donePool.Get().(chan writeResult)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return Message{}, ErrClosed
	}
	select {
	case w.shards[m.conversationID%len(w.shards)] <- req:
	case <-ctx.Done():
		w.mu.RUnlock()
		return Message{}, ctx.Err()
	}
	w.mu.RUnlock()
	// Once queued the message will be committed or fail; wait for that
	// answer even if the caller gave up, so the reply never lies.
	r := <-req.done
	donePool.Put(req.done)
	return r.msg, r.err
}

func (w *batchWriter) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		for _, c := range w.shards {
			close(c)
		}
	}
	w.mu.Unlock()
	w.wg.Wait()
}

func (w *batchWriter) loop(reqs chan *writeReq) {
	defer w.wg.Done()
	batch := make([]*writeReq, 0, w.maxBatch)
	for first := range reqs {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < w.maxBatch {
			select {
			case r, ok := <-reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		w.commit(batch)
	}
}

// commit writes a batch in one transaction. If it fails, each message is
// retried alone so one bad message cannot fail the others.
func (w *batchWriter) commit(batch []*writeReq) {
	msgs, err := w.insert(batch)
	for attempt := 0; err != nil && retryable(err) && attempt < 3; attempt++ {
		msgs, err = w.insert(batch)
	}
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			w.commit([]*writeReq{r})
		}
		return
	}
	for i, r := range batch {
		if err != nil {
			r.done <- writeResult{err: err}
			continue
		}
		// Published here, in commit order, before the sender's answer.
		w.s.pub.PublishMessage(context.Background(), msgs[i], r.m.to, r.m.origin)
		r.done <- writeResult{msg: msgs[i]}
	}
}

func (w *batchWriter) insert(batch []*writeReq) ([]Message, error) {
	// The batch serves many requests, so no one request's context may
	// cancel it; it gets its own deadline instead.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	date := w.s.nowUTC()
	if w.s.pg != nil {
		return w.s.pg.insert(ctx, batch, date)
	}
	var msgs []Message
	err := withTx(ctx, w.s.client, func(tx *ent.Tx) error {
		builders := make([]*ent.MessageCreate, len(batch))
		for i, r := range batch {
			builders[i] = tx.Message.Create().
				SetContent(r.m.content).
				SetDate(date).
				SetSenderID(r.m.senderID).
				SetConversationID(r.m.conversationID)
		}
		rows, err := tx.Message.CreateBulk(builders...).Save(ctx)
		if err != nil {
			return fromEnt(err)
		}
		msgs = make([]Message, len(rows))
		last := map[int]int{}
		for i, row := range rows {
			msgs[i] = messageOf(row)
			last[row.ConversationID] = max(last[row.ConversationID], row.ID)
		}
		return touchConversations(ctx, tx, last, date)
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// touchConversations moves each conversation's activity to its newest
// message, for the most-recent-first conversation list, and only forwards.
// This is the SQLite path: in-process, one writer, so a statement per
// conversation costs no round trip (PostgreSQL does it in insertBatchPG).
func touchConversations(ctx context.Context, tx *ent.Tx, last map[int]int, at time.Time) error {
	for _, convID := range slices.Sorted(maps.Keys(last)) {
		msgID := last[convID]
		if _, err := tx.Conversation.Update().
			Where(conversation.ID(convID), conversation.Or(
				conversation.LastMessageIDIsNil(),
				conversation.LastMessageIDLT(msgID))).
			SetLastActivityAt(at).
			SetLastMessageID(msgID).
			Save(ctx); err != nil {
			return fromEnt(err)
		}
	}
	return nil
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

// withTx runs fn in a transaction, rolling back on error or panic.
func withTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) (err error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if v := recover(); v != nil {
			tx.Rollback() //nolint:errcheck // panicking anyway
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	return tx.Commit()
}
