package chat_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companyapi/companyapi/ent/outboxmail"
	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// recorder is an Announcer that remembers the messages announced.
type recorder struct {
	mu    sync.Mutex
	sent  []string
	convs map[int][]int
	prev  map[int]int // message → the conversation's message before it
}

func (r *recorder) Announce(evs ...chat.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		e, ok := ev.(chat.MessageStored)
		if !ok {
			continue
		}
		m := e.Message
		r.sent = append(r.sent, fmt.Sprintf("%d->%v/%s", m.ID, e.To, e.Origin))
		if r.convs == nil {
			r.convs = map[int][]int{}
		}
		r.convs[m.ConversationID] = append(r.convs[m.ConversationID], m.ID)
		if r.prev == nil {
			r.prev = map[int]int{}
		}
		r.prev[m.ID] = e.Prev
	}
}

// conv returns the ids pushed for a conversation, in push order.
func (r *recorder) conv(id int) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.convs[id])
}

func newService(t *testing.T, st *store.Store) (*chat.Service, *recorder) {
	t.Helper()
	return newServiceTB(t, st)
}

func newServiceTB(t testing.TB, st *store.Store) (*chat.Service, *recorder) {
	t.Helper()
	rec := &recorder{}
	svc := newServiceWith(t, st, func(c *chat.Config) {
		c.Events = rec
		c.Writers = benchWriters()
	})
	return svc, rec
}

// newServiceWith is a service over st with fast hashing and no mail, as
// change adjusts it; it is closed when the test ends.
func newServiceWith(t testing.TB, st *store.Store, change func(*chat.Config)) *chat.Service {
	t.Helper()
	cfg := chat.Config{
		Client: st.Client, DB: st.DB, Dialect: st.Dialect,
		Hasher: auth.NewHasher(auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0),
	}
	if change != nil {
		change(&cfg)
	}
	svc, err := chat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

func mustUser(t *testing.T, svc *chat.Service, name string) chat.User {
	t.Helper()
	return mustUserTB(t, svc, name)
}

func mustUserTB(t testing.TB, svc *chat.Service, name string) chat.User {
	t.Helper()
	u, err := svc.Register(context.Background(), chat.Registration{Name: name, Subname: "x", Email: name + "@example.com", Job: "y"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestConcurrentSendsGroupCommit sends many messages at once: every one is
// stored exactly once, acknowledged with its own id, published after
// commit, and the conversation points at the newest.
func TestConcurrentSendsGroupCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, rec := newService(t, st)
		a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		conv, _, err := svc.CreateConversation(ctx, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		const n = 200
		ids := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				from := a.ID
				if i%2 == 1 {
					from = b.ID
				}
				m, err := svc.SendMessage(ctx, chat.SendInput{SenderID: from, ConversationID: conv.ID, Content: fmt.Sprintf("m%d", i), Origin: "s1"})
				if err != nil {
					t.Error(err)
					return
				}
				if m.Content != fmt.Sprintf("m%d", i) || m.SenderID != from {
					t.Errorf("ack %+v for m%d", m, i)
				}
				ids[i] = m.ID
			}()
		}
		wg.Wait()
		seen := map[int]bool{}
		maxID := 0
		for _, id := range ids {
			if id == 0 || seen[id] {
				t.Fatalf("ids %v: missing or repeated", ids)
			}
			seen[id] = true
			maxID = max(maxID, id)
		}
		stored, err := st.Client.Message.Query().All(ctx)
		if err != nil || len(stored) != n {
			t.Fatalf("%d stored (%v), want %d", len(stored), err, n)
		}
		// Each acknowledged id is the row holding that message: a batch
		// must not hand one sender another's id.
		for _, m := range stored {
			i := slices.Index(ids, m.ID)
			if i < 0 || m.Content != fmt.Sprintf("m%d", i) {
				t.Fatalf("row %d holds %q, but id %d was acknowledged for m%d", m.ID, m.Content, m.ID, i)
			}
		}
		if len(rec.sent) != n {
			t.Fatalf("%d published, want %d", len(rec.sent), n)
		}
		got, err := svc.GetConversation(ctx, a.ID, conv.ID)
		if err != nil || got.LastMessage == nil || got.LastMessage.ID != maxID {
			t.Fatalf("last message %+v (%v), want id %d", got.LastMessage, err, maxID)
		}
	})
}

func TestSendMessageRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, rec := newService(t, st)
		a, b, c := mustUser(t, svc, "ann"), mustUser(t, svc, "bob"), mustUser(t, svc, "cid")
		conv, _, _ := svc.CreateConversation(ctx, a.ID, b.ID)
		cases := []struct {
			name string
			in   chat.SendInput
			kind chat.Kind
		}{
			{"nok, stranger", chat.SendInput{SenderID: c.ID, ConversationID: conv.ID, Content: "x"}, chat.KindNotFound},
			{"nok, no conversation", chat.SendInput{SenderID: a.ID, ConversationID: 999999, Content: "x"}, chat.KindNotFound},
			{"nok, wrong recipient", chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, RecipientID: c.ID, Content: "x"}, chat.KindInvalid},
			{"nok, blank", chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: " \n"}, chat.KindInvalid},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := svc.SendMessage(ctx, tc.in); chat.KindOf(err) != tc.kind {
					t.Fatalf("err %v, want kind %v", err, tc.kind)
				}
			})
		}
		if len(rec.sent) != 0 {
			t.Fatalf("refused messages were published: %v", rec.sent)
		}
		m, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, RecipientID: b.ID, Content: "hi", Origin: "sock-1"})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%d->[%d %d]/sock-1", m.ID, b.ID, a.ID)
		if len(rec.sent) != 1 || rec.sent[0] != want {
			t.Fatalf("published %v, want %s", rec.sent, want)
		}
		svc.Close()
		if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: a.ID, ConversationID: conv.ID, Content: "late"}); chat.KindOf(err) != chat.KindUnavailable {
			t.Fatalf("send after Close: %v", err)
		}
	})
}

func itoa(i int) string { return fmt.Sprint(i) }

// benchWriters lets a benchmark run try another writer count
// (CHAT_WRITERS=n); 0 keeps the service's default.
func benchWriters() int {
	n, _ := strconv.Atoi(os.Getenv("CHAT_WRITERS"))
	return n
}

type notifier struct{ n atomic.Int32 }

func (c *notifier) Notify() { c.n.Add(1) }

// TestRegisterQueuesWelcomeMail: registering writes the account and its
// welcome mail together, and wakes the outbox; no password exists until the
// mail is sent, so none rests in the database.
func TestRegisterQueuesWelcomeMail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		n := &notifier{}
		svc := newServiceWith(t, st, func(c *chat.Config) { c.Outbox = n })
		u, err := svc.Register(ctx, chat.Registration{Name: "a", Subname: "b", Email: "Ann@Example.com", Job: "c"})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := st.Client.OutboxMail.Query().All(ctx)
		if err != nil || len(rows) != 1 || rows[0].UserID != u.ID || rows[0].To != "ann@example.com" || rows[0].Kind != outboxmail.KindWelcome {
			t.Fatalf("outbox %+v (%v), want one welcome mail to ann@example.com", rows, err)
		}
		if n.n.Load() != 1 {
			t.Fatalf("outbox woken %d times, want 1", n.n.Load())
		}
		if _, err := svc.Login(ctx, "ann@example.com", ""); chat.KindOf(err) != chat.KindUnauthenticated {
			t.Fatalf("login before the welcome mail: %v, want unauthenticated", err)
		}
		// A taken email queues nothing more.
		if _, err := svc.Register(ctx, chat.Registration{Name: "a", Subname: "b", Email: "ann@example.com", Job: "c"}); chat.AsError(err).Fields["email"] == nil {
			t.Fatalf("second registration: %v, want email taken", err)
		}
		if c := st.Client.OutboxMail.Query().CountX(ctx); c != 1 {
			t.Fatalf("%d mails queued, want 1", c)
		}
	})
}

// TestPurgeKeepsRecentRevocations: a revocation outlives its token by the
// verification leeway, so a just-expired token cannot work again.
func TestPurgeKeepsRecentRevocations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, st)
		now := time.Now()
		for jti, exp := range map[string]time.Time{"old": now.Add(-2 * chat.RevocationGrace), "recent": now.Add(-time.Second), "live": now.Add(time.Hour)} {
			if err := svc.RevokeToken(ctx, 1, jti, exp); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := svc.PurgeRevokedTokens(ctx); err != nil || n != 1 {
			t.Fatalf("purged %d (%v), want only the old one", n, err)
		}
		if n := st.Client.RevokedToken.Query().CountX(ctx); n != 2 {
			t.Fatalf("%d revocations left, want 2", n)
		}
	})
}
