package chat_test

import (
	"context"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/seed"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestRecoverBounds: past MaxRecoverPerConversation a conversation is
// named truncated; others' conversations, and messages already held, are
// not returned.
func TestRecoverBounds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, st)
		a, b, c := mustUser(t, svc, "ann"), mustUser(t, svc, "bob"), mustUser(t, svc, "cid")
		busy, _, _ := svc.CreateConversation(ctx, a.ID, b.ID)
		quiet, _, _ := svc.CreateConversation(ctx, a.ID, c.ID)
		foreign, _, _ := svc.CreateConversation(ctx, b.ID, c.ID)
		l := seed.Loader{DB: st.DB, Dialect: st.Dialect}
		if err := l.Messages(ctx, busy.ID, [2]int{a.ID, b.ID}, chat.MaxRecoverPerConversation+5); err != nil {
			t.Fatal(err)
		}
		held, err := svc.SendMessage(ctx, chat.SendInput{SenderID: c.ID, ConversationID: quiet.ID, Content: "held"})
		if err != nil {
			t.Fatal(err)
		}
		missed, _ := svc.SendMessage(ctx, chat.SendInput{SenderID: c.ID, ConversationID: quiet.ID, Content: "missed"})
		_, _ = svc.SendMessage(ctx, chat.SendInput{SenderID: c.ID, ConversationID: foreign.ID, Content: "not ann's"})

		rec, err := svc.Recover(ctx, a.ID, chat.RecoverQuery{Cursors: map[int]int{busy.ID: 0, quiet.ID: held.ID, foreign.ID: 0}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Truncated) != 1 || rec.Truncated[0] != busy.ID {
			t.Fatalf("truncated %v, want [%d]", rec.Truncated, busy.ID)
		}
		counts := map[int]int{}
		for i, m := range rec.Messages {
			counts[m.ConversationID]++
			if i > 0 && rec.Messages[i-1].ConversationID == m.ConversationID && rec.Messages[i-1].ID >= m.ID {
				t.Fatal("not oldest first")
			}
		}
		if counts[busy.ID] != chat.MaxRecoverPerConversation || counts[quiet.ID] != 1 || counts[foreign.ID] != 0 {
			t.Fatalf("recovered per conversation %v", counts)
		}
		if last := rec.Messages[len(rec.Messages)-1]; last.ID != missed.ID {
			t.Fatalf("last recovered %d, want %d", last.ID, missed.ID)
		}
	})
}

// TestRecoveredMessagesChain: recovered messages name the message before
// them, as live pushes do — the cursor in a named conversation, the real
// one in a conversation the client did not know.
func TestRecoveredMessagesChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, st)
		a, b, c := mustUser(t, svc, "ann"), mustUser(t, svc, "bob"), mustUser(t, svc, "cid")
		known, _, _ := svc.CreateConversation(ctx, a.ID, b.ID)
		unknown, _, _ := svc.CreateConversation(ctx, a.ID, c.ID)
		send := func(conv int) int {
			m, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv, Content: "x"})
			if err != nil {
				t.Fatal(err)
			}
			return m.ID
		}
		k1 := send(known.ID)
		u1 := send(unknown.ID) // before since: the client holds it, unnamed
		k2, u2, u3 := send(known.ID), send(unknown.ID), send(unknown.ID)
		rec, err := svc.Recover(ctx, a.ID, chat.RecoverQuery{Cursors: map[int]int{known.ID: k1}, Since: u1})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]int{k2: k1, u2: u1, u3: u2}
		if len(rec.Messages) != len(want) {
			t.Fatalf("recovered %d, want %d", len(rec.Messages), len(want))
		}
		for _, m := range rec.Messages {
			if m.Prev != want[m.ID] {
				t.Fatalf("message %d: prev %d, want %d", m.ID, m.Prev, want[m.ID])
			}
		}
	})
}
