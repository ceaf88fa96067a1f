package chat_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestCatchUpNeverSkips follows a conversation with ?after=<last id> while
// many senders write to it and to other conversations at once: the follower
// must see every message, and pushes must come in id order. With writers
// committing one conversation's messages out of id order, a follower that
// has seen id 101 would never fetch a 100 that committed after it.
func TestCatchUpNeverSkips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		// Several writers: ordering must hold however many commit at once.
		rec := &recorder{}
		svc := newServiceWith(t, st, func(c *chat.Config) {
			c.Events = rec
			c.Writers = 4
		})
		a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		conv, _, err := svc.CreateConversation(ctx, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		var others []int
		for i := range 6 {
			u := mustUser(t, svc, fmt.Sprintf("o%d", i))
			c, _, err := svc.CreateConversation(ctx, a.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			others = append(others, c.ID)
		}
		const senders, each = 16, 25
		var wg sync.WaitGroup
		for i := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range each {
					target := conv.ID
					if j%3 == 2 {
						target = others[(i+j)%len(others)]
					}
					if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: target, Content: "x"}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		seen := map[int]bool{}
		after, finished := 0, false
		for !finished {
			select {
			case <-done:
				finished = true // one more pass after the last commit
			default:
			}
			for {
				page, err := svc.History(ctx, b.ID, conv.ID, chat.HistoryQuery{After: after, Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range page.Messages {
					seen[m.ID] = true
					after = m.ID
				}
				if page.After == 0 {
					break
				}
			}
		}
		all, err := svc.History(ctx, b.ID, conv.ID, chat.HistoryQuery{Limit: chat.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range all.Messages {
			if !seen[m.ID] {
				t.Fatalf("message %d was never returned to the ?after= follower (%d of %d seen)", m.ID, len(seen), len(all.Messages))
			}
		}
		pushed := rec.conv(conv.ID)
		if !slices.IsSorted(pushed) {
			t.Fatalf("pushes out of id order: %v", pushed)
		}
		// Each push names the conversation's message before it: the
		// pushes form one chain, so a client sees any it did not get.
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for i, id := range pushed {
			want := 0
			if i > 0 {
				want = pushed[i-1]
			}
			if rec.prev[id] != want {
				t.Fatalf("message %d says its previous is %d, want %d", id, rec.prev[id], want)
			}
		}
	})
}
