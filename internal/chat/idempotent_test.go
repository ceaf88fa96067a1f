package chat_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/companyapi/companyapi/ent/message"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestSendWithClientIDIsIdempotent: a send repeated with the same client_id
// by the same sender returns the message stored the first time and stores
// nothing new — also when the repeats race each other, or meet in one
// batch. On SQLite a repeat announces nothing; on PostgreSQL it announces
// the stored message again, with its own previous id (the first answer may
// have been lost with a commit that announced nothing), and the sockets
// drop what they pushed already.
func TestSendWithClientIDIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, rec := newService(t, st)
		a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		conv, _, _ := svc.CreateConversation(ctx, a.ID, b.ID)
		other, _, _ := svc.CreateConversation(ctx, a.ID, mustUser(t, svc, "cid").ID)

		before, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "before"})
		if err != nil {
			t.Fatal(err)
		}
		first, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "hi", ClientID: "c-1"})
		if err != nil || first.Repeat || first.ClientID != "c-1" {
			t.Fatalf("first send: %+v, %v", first, err)
		}
		if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "after hi"}); err != nil {
			t.Fatal(err)
		}
		again, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "hi (edited)", ClientID: "c-1"})
		if err != nil || !again.Repeat || again.ID != first.ID || again.Content != "hi" {
			t.Fatalf("repeat: %+v, %v; want message %d as stored, marked Repeat", again, err, first.ID)
		}
		rec.mu.Lock()
		prev := rec.prev[first.ID]
		rec.mu.Unlock()
		if prev != before.ID {
			t.Fatalf("message %d announced with previous id %d, want %d", first.ID, prev, before.ID)
		}
		// Another sender's client_id space is its own.
		bs, err := svc.SendMessage(ctx, chat.SendInput{SenderID: b.ID, ConversationID: conv.ID, Content: "yo", ClientID: "c-1"})
		if err != nil || bs.Repeat || bs.ID == first.ID {
			t.Fatalf("same client_id, other sender: %+v, %v", bs, err)
		}
		// The same client_id in another conversation names another message.
		if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: other.ID, Content: "x", ClientID: "c-1"}); chat.KindOf(err) != chat.KindInvalid || chat.AsError(err).Fields["client_id"] == nil {
			t.Fatalf("client_id reused in another conversation: %v, want invalid client_id", err)
		}

		// Twenty concurrent repeats of one client_id: one row.
		const n = 20
		ids := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				m, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "race", ClientID: "c-race"})
				if err != nil {
					t.Error(err)
				}
				ids[i] = m.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("concurrent repeats answered different ids %v", ids)
			}
		}
		rows, err := st.Client.Message.Query().Where(message.ClientID("c-race")).Count(ctx)
		if err != nil || rows != 1 {
			t.Fatalf("%d rows hold client_id c-race (%v), want 1", rows, err)
		}
		pushed := rec.conv(conv.ID)
		if distinct := slices.Compact(slices.Sorted(slices.Values(pushed))); len(distinct) != 5 {
			t.Fatalf("messages %v pushed, want 5 (before, hi, after hi, yo, race)", distinct)
		}
		if again := len(pushed) > 5; again != (st.Dialect != "sqlite") {
			t.Fatalf("%s: pushes %v; repeats announced again: %v", st.Dialect, pushed, again)
		}
	})
}

func TestClientIDRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, st)
		a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		conv, _, _ := svc.CreateConversation(ctx, a.ID, b.ID)
		for _, id := range []string{strings.Repeat("x", 65), "tab\there", "bad\xffutf8"} {
			_, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "x", ClientID: id})
			if chat.AsError(err).Fields["client_id"] == nil {
				t.Errorf("client_id %q: %v, want invalid client_id", id, err)
			}
		}
		// Both fields wrong: both are named.
		_, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: " ", ClientID: strings.Repeat("é", 65)})
		if f := chat.AsError(err).Fields; f["client_id"] == nil || f["content"] == nil {
			t.Errorf("blank content and long client_id: %v, want both named", err)
		}
		ok := strings.Repeat("é", 64)
		if m, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "x", ClientID: ok}); err != nil || m.ClientID != ok {
			t.Fatalf("64-character client_id: %+v, %v", m, err)
		}
	})
}

// TestTwoServicesNeverSkip is two processes on one PostgreSQL database:
// each has its own writer, so only the store can order a conversation's
// messages. A follower reading ?after=<last id> while both write must see
// every message: ids drawn before the conversation row was locked let the
// two processes commit them out of order, and followers skipped some.
func TestTwoServicesNeverSkip(t *testing.T) {
	st := storetest.Postgres(t)
	ctx := context.Background()
	svcs := []*chat.Service{newServiceWith(t, st, nil), newServiceWith(t, st, nil)}
	a, b := mustUser(t, svcs[0], "ann"), mustUser(t, svcs[0], "bob")
	conv, _, err := svcs[0].CreateConversation(ctx, a.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	start, err := svcs[0].SendMessage(ctx, chat.SendInput{SenderID: b.ID, ConversationID: conv.ID, Content: "start"})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 60
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 2 * writers {
		wg.Go(func() {
			for j := range each {
				in := chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: fmt.Sprintf("%d-%d", i, j)}
				if _, err := svcs[i%2].SendMessage(ctx, in); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	seen, after := 0, start.ID
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := svcs[0].History(ctx, b.ID, conv.ID, chat.HistoryQuery{After: after, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			after = m.ID
			seen++
		}
		if finished && len(page.Messages) == 0 {
			break
		}
	}
	if seen != 2*writers*each {
		t.Fatalf("the follower saw %d of %d messages: it skipped some", seen, 2*writers*each)
	}
}
