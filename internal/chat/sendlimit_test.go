package chat_test

import (
	"context"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestSendLimitPerSender: one budget per sender over every socket and REST
// (a send with an Origin comes from a socket), refused before anything is
// stored or announced; another sender has a budget of its own.
func TestSendLimitPerSender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rec := &recorder{}
		svc := newServiceWith(t, st, func(c *chat.Config) { c.SendRate, c.SendBurst, c.Events = 1, 2, rec })
		a, b := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		conv, _, err := svc.CreateConversation(ctx, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		send := func(from int, origin string) error {
			_, err := svc.SendMessage(ctx, chat.SendInput{SenderID: from, ConversationID: conv.ID, Content: "hi", Origin: origin})
			return err
		}
		for _, origin := range []string{"node.socket1", ""} {
			if err := send(a.ID, origin); err != nil {
				t.Fatal(err)
			}
		}
		err = send(a.ID, "node.socket2")
		if e := chat.AsError(err); e.Kind != chat.KindRateLimited || e.RetryAfter <= 0 || e.Reason() != "rate limited" {
			t.Fatalf("third send within a second: %v (%+v), want rate limited with a retry time", err, e)
		}
		if err := send(b.ID, ""); err != nil {
			t.Fatalf("another sender: %v", err)
		}
		if n := st.Client.Message.Query().CountX(ctx); n != 3 || len(rec.conv(conv.ID)) != 3 {
			t.Fatalf("%d stored and %d announced, want the 3 allowed", n, len(rec.conv(conv.ID)))
		}
	})
}
