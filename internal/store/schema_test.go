package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/message"
	"github.com/companyapi/companyapi/ent/user"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

func createUser(t *testing.T, c *ent.Client, email string) (*ent.User, error) {
	t.Helper()
	return c.User.Create().
		SetName("Ada").
		SetSubname("Lovelace").
		SetEmail(email).
		SetJob("engineer").
		SetPasswordHash("not-a-real-hash").
		Save(context.Background())
}

func mustUser(t *testing.T, c *ent.Client, email string) *ent.User {
	t.Helper()
	u, err := createUser(t, c, email)
	if err != nil {
		t.Fatalf("create user %q: %v", email, err)
	}
	return u
}

func mustConversation(t *testing.T, c *ent.Client, from, to *ent.User) *ent.Conversation {
	t.Helper()
	conv, err := c.Conversation.Create().SetSenderID(from.ID).SetRecipientID(to.ID).Save(context.Background())
	if err != nil {
		t.Fatalf("create conversation %d→%d: %v", from.ID, to.ID, err)
	}
	return conv
}

func mustMessage(t *testing.T, c *ent.Client, conv *ent.Conversation, from *ent.User, text string) *ent.Message {
	t.Helper()
	m, err := c.Message.Create().SetConversationID(conv.ID).SetSenderID(from.ID).SetContent(text).Save(context.Background())
	if err != nil {
		t.Fatalf("create message: %v", err)
	}
	return m
}

func TestSchemaRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c := s.Client
		n := 0
		email := func() string { n++; return fmt.Sprintf("user%d@example.com", n) }

		t.Run("ok, email stored trimmed and lower-cased", func(t *testing.T) {
			u := mustUser(t, c, "  Alice@Example.COM \t")
			got, err := c.User.Get(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Email != "alice@example.com" {
				t.Errorf("stored email %q, want alice@example.com", got.Email)
			}
			if _, err := c.User.Query().Where(user.Email("alice@example.com")).Only(ctx); err != nil {
				t.Errorf("lookup by normal form: %v", err)
			}
		})

		t.Run("nok, email unique whatever the case", func(t *testing.T) {
			mustUser(t, c, "bob@example.com")
			_, err := createUser(t, c, " BOB@Example.com")
			if !ent.IsConstraintError(err) {
				t.Fatalf("second Bob: %v, want a constraint error", err)
			}
		})

		t.Run("nok, A→B then B→A", func(t *testing.T) {
			a, b := mustUser(t, c, email()), mustUser(t, c, email())
			mustConversation(t, c, a, b)
			_, err := c.Conversation.Create().SetSenderID(b.ID).SetRecipientID(a.ID).Save(ctx)
			if !ent.IsConstraintError(err) {
				t.Fatalf("B→A beside A→B: %v, want a constraint error", err)
			}
		})

		t.Run("nok, conversation with oneself", func(t *testing.T) {
			a := mustUser(t, c, email())
			_, err := c.Conversation.Create().SetSenderID(a.ID).SetRecipientID(a.ID).Save(ctx)
			if !ent.IsConstraintError(err) || !strings.Contains(strings.ToLower(err.Error()), "check constraint") {
				t.Fatalf("A→A: %v, want a CHECK constraint error", err)
			}
		})

		t.Run("nok, empty message", func(t *testing.T) {
			a, b := mustUser(t, c, email()), mustUser(t, c, email())
			conv := mustConversation(t, c, a, b)
			_, err := c.Message.Create().SetConversationID(conv.ID).SetSenderID(a.ID).SetContent("").Save(ctx)
			if err == nil {
				t.Fatal("empty message stored")
			}
			if !ent.IsValidationError(err) {
				t.Errorf("empty message: %v, want a validation error", err)
			}
			if k := c.Message.Query().Where(message.ConversationID(conv.ID)).CountX(ctx); k != 0 {
				t.Errorf("%d messages stored", k)
			}
		})

		t.Run("ok, deleting a conversation deletes its messages", func(t *testing.T) {
			a, b := mustUser(t, c, email()), mustUser(t, c, email())
			conv := mustConversation(t, c, a, b)
			mustMessage(t, c, conv, a, "hello")
			mustMessage(t, c, conv, b, "hi")
			if err := c.Conversation.DeleteOneID(conv.ID).Exec(ctx); err != nil {
				t.Fatalf("delete conversation: %v", err)
			}
			if k := c.Message.Query().Where(message.ConversationID(conv.ID)).CountX(ctx); k != 0 {
				t.Errorf("%d messages outlived their conversation", k)
			}
		})

		t.Run("nok, deleting a user with messages", func(t *testing.T) {
			a, b := mustUser(t, c, email()), mustUser(t, c, email())
			conv := mustConversation(t, c, a, b)
			mustMessage(t, c, conv, a, "hello")
			err := c.User.DeleteOneID(a.ID).Exec(ctx)
			if !ent.IsConstraintError(err) {
				t.Fatalf("delete user with messages: %v, want a constraint error", err)
			}
			if _, err := c.User.Get(ctx, a.ID); err != nil {
				t.Errorf("user gone after a refused delete: %v", err)
			}
			if k := c.Message.Query().Where(message.SenderID(a.ID)).CountX(ctx); k != 1 {
				t.Errorf("%d messages left, want 1", k)
			}
		})
	})
}
