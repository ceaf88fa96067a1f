package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/companyapi/companyapi/ent/outboxmail"
	"github.com/companyapi/companyapi/internal/store"
)

// TestMailStatus: a mail given up is visible to an operator, with its
// error, not only in the log.
func TestMailStatus(t *testing.T) {
	env := sqliteEnv(t)
	ctx := context.Background()
	st, err := store.Open(ctx, env["DATABASE_URL"], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u := st.Client.User.Create().SetName("a").SetSubname("b").SetJob("c").SetEmail("lost@example.com").SetPasswordHash("!").SaveX(ctx)
	st.Client.OutboxMail.Create().SetKind(outboxmail.KindWelcome).SetUserID(u.ID).SetTo(u.Email).
		SetAttempts(9).SetFailedAt(time.Now()).SetLastError("550 mailbox unavailable").ExecX(ctx)
	st.Client.OutboxMail.Create().SetKind(outboxmail.KindWelcome).SetUserID(u.ID).SetTo(u.Email).ExecX(ctx)
	st.Close()

	code, out, errOut := runCmd(t, env, "mail", "status")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"pending\t1", "failed\t1", "lost@example.com", "550 mailbox unavailable", "after 9 tries"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
