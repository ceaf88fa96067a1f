package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/companyapi/companyapi/ent/message"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestLockedConversationDelaysOnlyItself holds conversation A's row locked,
// as a stuck transaction would. Before, one writer waited on the lock and
// every conversation waited with it, and sends waited past their deadlines.
// Now: a send to A answers unavailable at its deadline and is never
// written; a send to B is written at once; once the lock is gone A's
// messages are written, in order.
func TestLockedConversationDelaysOnlyItself(t *testing.T) {
	st := storetest.Postgres(t)
	ctx := context.Background()
	svc := newServiceWith(t, st, nil)
	a, b, c := mustUser(t, svc, "ann"), mustUser(t, svc, "bob"), mustUser(t, svc, "cid")
	convA, _, _ := svc.CreateConversation(ctx, a.ID, b.ID)
	convB, _, _ := svc.CreateConversation(ctx, a.ID, c.ID)

	lock, err := st.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `SELECT id FROM conversations WHERE id = $1 FOR UPDATE`, convA.ID); err != nil {
		t.Fatal(err)
	}

	// A send to A gives up at its deadline.
	actx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := svc.SendMessage(actx, chat.SendInput{SenderID: a.ID, ConversationID: convA.ID, Content: "lost", ClientID: "lost-1"})
		errc <- err
	}()

	// Meanwhile B is written, while A's lock is still held.
	bctx, bcancel := context.WithTimeout(ctx, 5*time.Second)
	defer bcancel()
	if _, err := svc.SendMessage(bctx, chat.SendInput{SenderID: a.ID, ConversationID: convB.ID, Content: "free"}); err != nil {
		t.Fatalf("send to an unlocked conversation while another is locked: %v", err)
	}

	select {
	case err := <-errc:
		if chat.KindOf(err) != chat.KindUnavailable {
			t.Fatalf("send to the locked conversation: %v, want unavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the send to the locked conversation waited 10 s past its 200 ms deadline")
	}

	// Sent while locked, with room to wait: written once the lock goes.
	results := make(chan error, 2)
	for _, text := range []string{"one", "two"} {
		go func() {
			_, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: convA.ID, Content: text})
			results <- err
		}()
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-results; err != nil {
			t.Fatalf("send after the lock went: %v", err)
		}
	}
	// The send that gave up was never written: its sender was told so.
	if n, err := st.Client.Message.Query().Where(message.ClientID("lost-1")).Count(ctx); err != nil || n != 0 {
		t.Fatalf("the abandoned send was stored %d times (%v)", n, err)
	}
}
