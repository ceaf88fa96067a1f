package chat_test

import (
	"context"
	"sync"
	"testing"

	"github.com/companyapi/companyapi/ent/message"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// events records everything announced.
type events struct {
	mu  sync.Mutex
	evs []chat.Event
}

func (e *events) Announce(evs ...chat.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, evs...)
	e.mu.Unlock()
}

func (e *events) reads() []chat.ReadMarked {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []chat.ReadMarked
	for _, ev := range e.evs {
		if r, ok := ev.(chat.ReadMarked); ok {
			out = append(out, r)
		}
	}
	return out
}

func TestReadMarksAndUnreadCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		heard := &events{}
		svc := newServiceWith(t, st, func(c *chat.Config) { c.Events = heard })
		ann, bob, cid := mustUser(t, svc, "ann"), mustUser(t, svc, "bob"), mustUser(t, svc, "cid")
		conv, _, _ := svc.CreateConversation(ctx, ann.ID, bob.ID)
		other, _, _ := svc.CreateConversation(ctx, cid.ID, bob.ID)
		send := func(from chat.User, conv int) int {
			m, err := svc.SendMessage(ctx, chat.SendInput{SenderID: from.ID, ConversationID: conv, Content: "x"})
			if err != nil {
				t.Fatal(err)
			}
			return m.ID
		}
		view := func(who chat.User) chat.Conversation {
			c, err := svc.GetConversation(ctx, who.ID, conv.ID)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		b1, b2, b3 := send(bob, conv.ID), send(bob, conv.ID), send(bob, conv.ID)
		send(cid, other.ID)
		if a := view(ann); a.UnreadCount != 3 || a.LastReadID != nil || a.OtherLastReadID == nil || *a.OtherLastReadID != b3 {
			t.Fatalf("ann's view after bob's 3 messages: %+v", a)
		}
		if b := view(bob); b.UnreadCount != 0 || b.LastReadID == nil || *b.LastReadID != b3 {
			t.Fatalf("bob's view: sending marks his side read: %+v", b)
		}

		if err := svc.MarkRead(ctx, ann.ID, conv.ID, b2, "sock"); err != nil {
			t.Fatal(err)
		}
		if a := view(ann); a.UnreadCount != 1 || *a.LastReadID != b2 {
			t.Fatalf("after reading up to the 2nd: %+v", a)
		}
		want := chat.ReadMarked{ConversationID: conv.ID, UserID: ann.ID, MessageID: b2, To: []int{bob.ID, ann.ID}, Origin: "sock"}
		if r := heard.reads(); len(r) != 1 || r[0].MessageID != want.MessageID || r[0].UserID != ann.ID || r[0].Origin != "sock" || len(r[0].To) != 2 {
			t.Fatalf("announced %+v, want %+v", r, want)
		}
		// Never backwards, and an older id is no error.
		if err := svc.MarkRead(ctx, ann.ID, conv.ID, b1, ""); err != nil {
			t.Fatal(err)
		}
		if a := view(ann); *a.LastReadID != b2 || len(heard.reads()) != 1 {
			t.Fatalf("an older mark moved it or was announced: %+v", a)
		}
		foreign := send(cid, other.ID)
		if err := svc.MarkRead(ctx, ann.ID, conv.ID, foreign, ""); chat.AsError(err).Fields["message_id"] == nil {
			t.Fatalf("a message of another conversation: %v, want invalid message_id", err)
		}
		if err := svc.MarkRead(ctx, cid.ID, conv.ID, b2, ""); chat.KindOf(err) != chat.KindNotFound {
			t.Fatalf("a stranger marking: %v, want not found", err)
		}
		// Replying marks ann's side read.
		a1 := send(ann, conv.ID)
		if a := view(ann); a.UnreadCount != 0 || *a.LastReadID != a1 {
			t.Fatalf("after ann replied: %+v", a)
		}
		if b := view(bob); b.UnreadCount != 1 || *b.OtherLastReadID != a1 {
			t.Fatalf("bob after ann's reply: %+v", b)
		}
		total, err := svc.UnreadTotal(ctx, bob.ID)
		if err != nil || total != 3 { // 1 from ann, 2 from cid
			t.Fatalf("bob's unread total %d (%v), want 3", total, err)
		}
		list, _, err := svc.ListConversations(ctx, bob.ID, "", 10)
		if err != nil || len(list) != 2 || list[0].UnreadCount+list[1].UnreadCount != 3 {
			t.Fatalf("bob's list %+v (%v)", list, err)
		}
	})
}

// TestUnreadCountsUnderConcurrency: marks and sends race; the counters
// always equal a recount.
func TestUnreadCountsUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, st)
		ann, bob := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		conv, _, _ := svc.CreateConversation(ctx, ann.ID, bob.ID)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ids []int
		for range 8 {
			wg.Go(func() {
				for range 20 {
					m, err := svc.SendMessage(ctx, chat.SendInput{SenderID: bob.ID, ConversationID: conv.ID, Content: "x"})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids = append(ids, m.ID)
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			for range 30 {
				mu.Lock()
				n := len(ids)
				last := 0
				if n > 0 {
					last = ids[n/2]
				}
				mu.Unlock()
				if last > 0 {
					if err := svc.MarkRead(ctx, ann.ID, conv.ID, last, ""); err != nil {
						t.Error(err)
					}
				}
			}
		})
		wg.Wait()
		c, err := svc.GetConversation(ctx, ann.ID, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		mark := 0
		if c.LastReadID != nil {
			mark = *c.LastReadID
		}
		recount := st.Client.Message.Query().Where(message.ConversationID(conv.ID), message.IDGT(mark), message.SenderID(bob.ID)).CountX(ctx)
		if c.UnreadCount != recount {
			t.Fatalf("unread count %d, a recount says %d (mark %d)", c.UnreadCount, recount, mark)
		}
	})
}
