package chat_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/outboxmail"
	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

var mailedToken = regexp.MustCompile(`reset token is ([A-Za-z0-9_-]+)`)

// resetFixture is a service whose reset requests answer at once, and the
// outbox's preparer of its mails on a clock the test sets.
type resetFixture struct {
	st    *store.Store
	svc   *chat.Service
	mails *chat.AccountMails
	now   time.Time // the mails' clock; zero: the real one
}

func newResetFixture(t *testing.T, st *store.Store) *resetFixture {
	t.Helper()
	f := &resetFixture{st: st}
	f.svc = newServiceWith(t, st, func(c *chat.Config) { c.ResetAnswerTime = time.Nanosecond })
	mails, err := chat.NewAccountMails(chat.AccountMailsConfig{
		Client: st.Client, Hasher: auth.NewHasher(auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0),
		GeneratePassword: auth.GeneratePassword, From: "chat@example.com",
		Now: func() time.Time {
			if f.now.IsZero() {
				return time.Now()
			}
			return f.now
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.mails = mails
	return f
}

// resetRows returns the queued reset mails to email.
func (f *resetFixture) resetRows(t *testing.T, email string) []*ent.OutboxMail {
	t.Helper()
	rows, err := f.st.Client.OutboxMail.Query().Where(outboxmail.KindEQ(outboxmail.KindPasswordReset), outboxmail.To(email)).All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// token makes the mail of row, as the outbox's sender does, and returns
// the token it carries.
func (f *resetFixture) token(t *testing.T, row *ent.OutboxMail) string {
	t.Helper()
	m, send, err := f.mails.PrepareMail(context.Background(), row)
	if err != nil || !send {
		t.Fatalf("prepare reset mail: send %v, %v", send, err)
	}
	found := mailedToken.FindStringSubmatch(m.Text)
	if found == nil {
		t.Fatalf("no token in %q", m.Text)
	}
	return found[1]
}

// TestPasswordResetTokens: the token is mailed, never stored (only its
// hash), carries at least 128 bits, works once, and only the newest works,
// and only until it expires.
func TestPasswordResetTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newResetFixture(t, st)
		ann := mustUser(t, f.svc, "ann")
		if err := f.svc.RequestPasswordReset(ctx, " ANN@example.com"); err != nil {
			t.Fatal(err)
		}
		rows := f.resetRows(t, ann.Email)
		if len(rows) != 1 {
			t.Fatalf("%d reset mails queued, want 1", len(rows))
		}

		first := f.token(t, rows[0])
		second := f.token(t, rows[0]) // the mail tried again: a new token
		if len(second) < 22 || first == second {
			t.Fatalf("tokens %q and %q: want two different ones of at least 128 bits", first, second)
		}
		stored, err := st.Client.PasswordReset.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(second))
		if len(stored) != 1 || stored[0].TokenHash != hex.EncodeToString(sum[:]) || stored[0].UserID != ann.ID {
			t.Fatalf("stored %+v, want one row holding the newest token's hash", stored)
		}
		if err := f.svc.ResetPassword(ctx, first, "a-good-new-password"); chat.KindOf(err) != chat.KindNotFound {
			t.Fatalf("the replaced token: %v, want not found", err)
		}

		// Made two hours ago, it expired an hour ago.
		f.now = time.Now().Add(-2 * time.Hour)
		expired := f.token(t, rows[0])
		if err := f.svc.ResetPassword(ctx, expired, "a-good-new-password"); chat.KindOf(err) != chat.KindNotFound {
			t.Fatalf("an expired token: %v, want not found", err)
		}
		if n, err := f.svc.PurgePasswordResets(ctx); err != nil || n != 1 {
			t.Fatalf("purged %d expired tokens (%v), want 1", n, err)
		}

		f.now = time.Time{}
		live := f.token(t, rows[0])
		if err := f.svc.ResetPassword(ctx, live, "a-good-new-password"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Login(ctx, ann.Email, "a-good-new-password"); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
		if err := f.svc.ResetPassword(ctx, live, "another-new-password"); chat.KindOf(err) != chat.KindNotFound {
			t.Fatalf("a used token: %v, want not found", err)
		}
		if err := f.svc.ResetPassword(ctx, "never-issued", "another-new-password"); chat.KindOf(err) != chat.KindNotFound {
			t.Fatalf("an unknown token: %v, want not found", err)
		}
	})
}

// TestPasswordResetOnce: of two resets racing with one token, one sets its
// password and the other is not found.
func TestPasswordResetOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newResetFixture(t, st)
		ann := mustUser(t, f.svc, "ann")
		if err := f.svc.RequestPasswordReset(ctx, ann.Email); err != nil {
			t.Fatal(err)
		}
		token := f.token(t, f.resetRows(t, ann.Email)[0])
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pw := range []string{"first-new-password", "second-new-password"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = f.svc.ResetPassword(ctx, token, pw)
			}()
		}
		wg.Wait()
		ok, notFound := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case chat.KindOf(err) == chat.KindNotFound:
				notFound++
			}
		}
		if ok != 1 || notFound != 1 {
			t.Fatalf("two resets with one token: %v and %v, want one ok and one not found", errs[0], errs[1])
		}
	})
}

// TestPasswordResetRequests: a reset mail only for an account, at most one
// a minute per account, and the answer the same either way.
func TestPasswordResetRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newResetFixture(t, st)
		ann := mustUser(t, f.svc, "ann")
		for range 3 {
			if err := f.svc.RequestPasswordReset(ctx, ann.Email); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.svc.RequestPasswordReset(ctx, "nobody@example.com"); err != nil {
			t.Fatalf("an unknown address: %v, want the same answer as a known one", err)
		}
		if n := len(f.resetRows(t, ann.Email)); n != 1 {
			t.Fatalf("%d reset mails for three requests within a minute, want 1", n)
		}
		if n := len(f.resetRows(t, "nobody@example.com")); n != 0 {
			t.Fatalf("%d reset mails to an address without an account", n)
		}
		for email, msg := range map[string]string{"": chat.MsgBlank, "nope": chat.MsgFormat} {
			err := f.svc.RequestPasswordReset(ctx, email)
			if e := chat.AsError(err); e.Kind != chat.KindInvalid || len(e.Fields["email"]) != 1 || e.Fields["email"][0] != msg {
				t.Errorf("email %q: %v, want %q", email, err, msg)
			}
		}
	})
}
