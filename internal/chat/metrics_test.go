package chat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/metrics/metricstest"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestSendsAndCommitsObserved: each send is timed under its result, each
// group-commit statement under its size, and the messages committed are
// counted once (a repeated client_id is answered, not committed again).
func TestSendsAndCommitsObserved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		m := metrics.New("test")
		svc := newServiceWith(t, st, func(c *chat.Config) { c.Metrics = m })
		a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		conv, _, err := svc.CreateConversation(ctx, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: fmt.Sprint("m", i)}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for range 2 { // the second is a repeat
			if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "once", ClientID: "c-1"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: " "}); chat.KindOf(err) != chat.KindInvalid {
			t.Fatalf("blank: %v", err)
		}
		if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID + 1000, Content: "x"}); chat.KindOf(err) != chat.KindNotFound {
			t.Fatalf("no such conversation: %v", err)
		}

		s := metricstest.Get(t, m)
		if v := s.Value(t, "companyapi_messages_committed_total"); v != n+1 {
			t.Errorf("committed %v, want %d", v, n+1)
		}
		statements := s.Value(t, "companyapi_message_batch_size")
		if statements < 2 || statements > n+2 {
			t.Errorf("%v statements for %d messages", statements, n+2)
		}
		if v := s.Sum(t, "companyapi_message_batch_size"); v != n+2 {
			t.Errorf("the statements carried %v messages, want %d (the repeat is looked up by one)", v, n+2)
		}
		if v := s.Value(t, "companyapi_message_commit_duration_seconds"); v != statements {
			t.Errorf("%v statements timed, %v counted", v, statements)
		}
		for result, want := range map[string]float64{"ok": n + 2, "invalid": 1, "not_found": 1, "unavailable": 0} {
			if v := s.Value(t, "companyapi_message_send_duration_seconds", "result", result); v != want {
				t.Errorf("sends with result %s: %v, want %v", result, v, want)
			}
		}
		if v := s.Value(t, "companyapi_message_commit_failures_total"); v != 0 {
			t.Errorf("%v failed statements", v)
		}
	})
}

// TestLockWaitsObserved: a message whose conversation's row another
// transaction holds is counted as waiting, and committed once it is free.
func TestLockWaitsObserved(t *testing.T) {
	st := storetest.Postgres(t)
	ctx := context.Background()
	m := metrics.New("test")
	svc := newServiceWith(t, st, func(c *chat.Config) { c.Metrics = m })
	a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
	conv, _, _ := svc.CreateConversation(ctx, a.ID, b.ID)
	lock, err := st.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `SELECT id FROM conversations WHERE id = $1 FOR UPDATE`, conv.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "waits"})
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); metricstest.Get(t, m).Value(t, "companyapi_message_lock_waits_total") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no lock wait counted while the row was locked")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v := metricstest.Get(t, m).Value(t, "companyapi_messages_committed_total"); v != 1 {
		t.Errorf("committed %v, want 1", v)
	}
}
