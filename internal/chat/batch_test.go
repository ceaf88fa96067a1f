package chat_test

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/companyapi/companyapi/ent/message"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// These tests hold the message writer with chat.BatchHooks at the points
// where a sender's giving up races it. Tests that need a conversation row
// locked by another transaction run on PostgreSQL only: SQLite has one
// writer and no row locks, so nothing there is ever skipped.

// recv waits for ch; a writer stuck elsewhere fails the test instead of
// hanging it.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s within 30 s", what)
		var zero T
		return zero
	}
}

// queuedLog hears chat.BatchHooks.Queued; waitFor returns once content has
// been queued.
type queuedLog chan string

func (q queuedLog) hook(content string) { q <- content }

func (q queuedLog) waitFor(t *testing.T, content string) {
	t.Helper()
	for recv(t, q, "queued "+content) != content {
	}
}

// sendAsync sends in the background; the result arrives on the channel.
func sendAsync(ctx context.Context, svc *chat.Service, in chat.SendInput) <-chan sendResult {
	c := make(chan sendResult, 1)
	sendInto(ctx, svc, in, c)
	return c
}

// sendInto is sendAsync onto a channel made beforehand, for a hook that
// may run before the send returns.
func sendInto(ctx context.Context, svc *chat.Service, in chat.SendInput, c chan<- sendResult) {
	go func() {
		m, err := svc.SendMessage(ctx, in)
		c <- sendResult{m, err}
	}()
}

// giveUpIn returns a hook for the writer's goroutine: the sender of the
// message whose answer comes on answers gives up (cancel), and the hook
// returns once that sender has heard, leaving its error in *got.
func giveUpIn(t *testing.T, cancel func(), answers <-chan sendResult, got *error) func() {
	return func() {
		cancel()
		select {
		case r := <-answers:
			*got = r.err
		case <-time.After(30 * time.Second):
			t.Error("the sender that gave up was not answered within 30 s")
		}
	}
}

type sendResult struct {
	msg chat.Message
	err error
}

// lockConversation holds a conversation's row locked, as another node's
// batch or a stuck transaction would, until the returned transaction ends.
func lockConversation(t *testing.T, st *store.Store, id int) *sql.Tx {
	t.Helper()
	lock, err := st.DB.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lock.Rollback() })
	if _, err := lock.Exec(`SELECT id FROM conversations WHERE id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	return lock
}

func storedWithClientID(t *testing.T, st *store.Store, clientID string) int {
	t.Helper()
	n, err := st.Client.Message.Query().Where(message.ClientID(clientID)).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGivenUpWhileSkippedIsNotWritten: a message whose conversation row was
// locked comes back from its statement unwritten. Its sender gave up while
// the statement ran and was told unavailable; before, the writer queued the
// message again all the same and stored it once the lock was gone.
func TestGivenUpWhileSkippedIsNotWritten(t *testing.T) {
	st := storetest.Postgres(t)
	ctx := context.Background()
	svc := newServiceWith(t, st, nil)
	a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
	conv, _, err := svc.CreateConversation(ctx, a.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	ran, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	var first sync.Once
	chat.SetBatchHooks(svc, chat.BatchHooks{AfterInsert: func(c []string) {
		if slices.Equal(c, []string{"lost"}) {
			first.Do(func() { close(ran); <-release })
		}
	}})
	lock := lockConversation(t, st, conv.ID)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := sendAsync(sctx, svc, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "lost", ClientID: "lost-1"})
	recv(t, ran, "statement for the message") // run, and skipped: the row is locked
	cancel()
	if r := recv(t, lost, "answer to the sender"); chat.KindOf(r.err) != chat.KindUnavailable {
		t.Fatalf("sender gave up mid-statement: %v, want unavailable", r.err)
	}
	releaseOnce()
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	// A later message of the conversation is written after anything that
	// still waited before it.
	if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "after"}); err != nil {
		t.Fatal(err)
	}
	if n := storedWithClientID(t, st, "lost-1"); n != 0 {
		t.Fatalf("the message whose sender was told unavailable was stored %d times", n)
	}
}

// holdThenFail is the writer's hook for the split tests: it holds the
// statement of "hold" until hold is closed, so the next messages queue up
// and meet in one batch, and fails that batch (of more than one) as one bad
// message would; the writer then tries each message alone.
func holdThenFail(holding, hold chan struct{}, inBatch func()) func([]string) error {
	return func(c []string) error {
		switch {
		case slices.Equal(c, []string{"hold"}):
			close(holding)
			<-hold
		case len(c) > 1:
			if inBatch != nil {
				inBatch()
			}
			return &chat.Error{Kind: chat.KindConflict, Message: "conflict"}
		}
		return nil
	}
}

// TestGivenUpInAFailedBatchIsNotWritten: a batch fails and each of its
// messages is tried alone. A sender that gave up while the batch ran was
// told unavailable; before, its message was tried alone all the same and
// stored.
func TestGivenUpInAFailedBatchIsNotWritten(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newServiceWith(t, st, nil)
		a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		conv, _, err := svc.CreateConversation(ctx, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		queued := make(queuedLog, 8)
		holding, hold := make(chan struct{}), make(chan struct{})
		holdOnce := sync.OnceFunc(func() { close(hold) })
		defer holdOnce()
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		lost := make(chan sendResult, 1)
		var lostErr error
		lostDone := make(chan struct{})
		// While the batch runs, the sender of "lost" gives up and hears so.
		giveUp := giveUpIn(t, cancel, lost, &lostErr)
		inBatch := func() { giveUp(); close(lostDone) }
		chat.SetBatchHooks(svc, chat.BatchHooks{Queued: queued.hook, BeforeInsert: holdThenFail(holding, hold, inBatch)})

		in := func(content, clientID string) chat.SendInput {
			return chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: content, ClientID: clientID}
		}
		held := sendAsync(ctx, svc, in("hold", ""))
		recv(t, holding, "statement of hold")
		kept := sendAsync(ctx, svc, in("kept", "kept-1"))
		queued.waitFor(t, "kept")
		sendInto(lctx, svc, in("lost", "lost-1"), lost)
		queued.waitFor(t, "lost")
		holdOnce()

		for _, r := range []<-chan sendResult{held, kept} {
			if res := recv(t, r, "answer"); res.err != nil {
				t.Fatalf("send: %v", res.err)
			}
		}
		recv(t, lostDone, "the failed batch")
		if chat.KindOf(lostErr) != chat.KindUnavailable {
			t.Fatalf("sender gave up mid-batch: %v, want unavailable", lostErr)
		}
		// The lane is free again: whatever it did with "lost" is done.
		if _, err := svc.SendMessage(ctx, in("after", "")); err != nil {
			t.Fatal(err)
		}
		if n := storedWithClientID(t, st, "lost-1"); n != 0 {
			t.Fatalf("the message whose sender was told unavailable was stored %d times", n)
		}
		if n := storedWithClientID(t, st, "kept-1"); n != 1 {
			t.Fatalf("the other message of the failed batch was stored %d times, want once", n)
		}
	})
}

// TestGivenUpBeforeARetryIsNotWritten: a statement that failed with a
// serialization failure is run again. Nothing was written by the first
// run, so a sender that gave up during it is left out of the second.
func TestGivenUpBeforeARetryIsNotWritten(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newServiceWith(t, st, nil)
		a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		conv, _, err := svc.CreateConversation(ctx, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		lost := make(chan sendResult, 1)
		var lostErr error
		lostDone := make(chan struct{})
		giveUp := giveUpIn(t, cancel, lost, &lostErr)
		var first sync.Once
		chat.SetBatchHooks(svc, chat.BatchHooks{BeforeInsert: func(c []string) (err error) {
			if slices.Equal(c, []string{"lost"}) {
				first.Do(func() {
					giveUp()
					close(lostDone)
					err = &pq.Error{Code: "40001"} // a serialization failure
				})
			}
			return err
		}})
		in := func(content, clientID string) chat.SendInput {
			return chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: content, ClientID: clientID}
		}
		sendInto(lctx, svc, in("lost", "lost-1"), lost)
		recv(t, lostDone, "the failed statement")
		if chat.KindOf(lostErr) != chat.KindUnavailable {
			t.Fatalf("sender gave up mid-statement: %v, want unavailable", lostErr)
		}
		if _, err := svc.SendMessage(ctx, in("after", "")); err != nil {
			t.Fatal(err)
		}
		if n := storedWithClientID(t, st, "lost-1"); n != 0 {
			t.Fatalf("the message whose sender was told unavailable was stored %d times", n)
		}
	})
}

// TestFailedBatchKeepsArrivalOrder: a batch of two messages of one
// conversation fails and each is tried alone. The first, alone, finds the
// conversation row locked and waits; the lock goes just then. Before, the
// second was written at once, ahead of the first.
func TestFailedBatchKeepsArrivalOrder(t *testing.T) {
	st := storetest.Postgres(t)
	ctx := context.Background()
	svc := newServiceWith(t, st, nil)
	a, b, c := mustUser(t, svc, "ann"), mustUser(t, svc, "bob"), mustUser(t, svc, "cid")
	convA, _, err := svc.CreateConversation(ctx, a.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	convB, _, err := svc.CreateConversation(ctx, a.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	lock := lockConversation(t, st, convA.ID)
	queued := make(queuedLog, 8)
	holding, hold := make(chan struct{}), make(chan struct{})
	holdOnce := sync.OnceFunc(func() { close(hold) })
	defer holdOnce()
	chat.SetBatchHooks(svc, chat.BatchHooks{
		Queued:       queued.hook,
		BeforeInsert: holdThenFail(holding, hold, nil),
		AfterInsert: func(c []string) {
			// "first" alone was skipped: the row is locked. Now it is not.
			if slices.Equal(c, []string{"first"}) {
				if err := lock.Rollback(); err != nil && err != sql.ErrTxDone {
					t.Error(err)
				}
			}
		},
	})

	held := sendAsync(ctx, svc, chat.SendInput{SenderID: a.ID, ConversationID: convB.ID, Content: "hold"})
	recv(t, holding, "statement of hold")
	first := sendAsync(ctx, svc, chat.SendInput{SenderID: a.ID, ConversationID: convA.ID, Content: "first"})
	queued.waitFor(t, "first")
	second := sendAsync(ctx, svc, chat.SendInput{SenderID: a.ID, ConversationID: convA.ID, Content: "second"})
	queued.waitFor(t, "second")
	holdOnce()

	var ids []int
	for _, r := range []<-chan sendResult{held, first, second} {
		res := recv(t, r, "answer")
		if res.err != nil {
			t.Fatalf("send: %v", res.err)
		}
		ids = append(ids, res.msg.ID)
	}
	if ids[1] > ids[2] {
		t.Fatalf("first is message %d, second %d: stored out of the order they arrived in", ids[1], ids[2])
	}
}
