package chat_test

import (
	"context"
	"testing"

	"github.com/companyapi/companyapi/ent/user"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestNormalizeStoredEmails: emails stored by earlier versions (trimmed and
// lower-cased only) are rewritten in today's normal form, so that their
// owners log in with the address they type; one whose normal form another
// account holds is left and reported.
func TestNormalizeStoredEmails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newServiceWith(t, st, nil)
		mustUser(t, svc, "ann")
		// As earlier versions stored them: past the normalizing hook.
		ids := map[string]int{}
		for _, email := range []string{"ｂob@bücher.de", "ａnn@example.com", "cid@example.com"} {
			var id int
			if err := st.DB.QueryRowContext(ctx, `INSERT INTO users (inserted_at, updated_at, name, subname, email, job, password_hash)
				VALUES (CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'n', 's', '`+email+`', 'j', '!') RETURNING id`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids[email] = id
		}
		fixed, conflicts, err := svc.NormalizeStoredEmails(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := chat.EmailConflict{UserID: ids["ａnn@example.com"], Email: "ａnn@example.com", Normal: "ann@example.com"}
		if fixed != 1 || len(conflicts) != 1 || conflicts[0] != want {
			t.Fatalf("fixed %d, conflicts %+v; want 1 and %+v", fixed, conflicts, want)
		}
		if u, err := st.Client.User.Get(ctx, ids["ｂob@bücher.de"]); err != nil || u.Email != "bob@xn--bcher-kva.de" {
			t.Fatalf("bob stored as %q (%v), want bob@xn--bcher-kva.de", u.Email, err)
		}
		if !st.Client.User.Query().Where(user.Email("ａnn@example.com")).ExistX(ctx) {
			t.Fatal("the conflicting account was changed")
		}
		if fixed, conflicts, err := svc.NormalizeStoredEmails(ctx); err != nil || fixed != 0 || len(conflicts) != 1 {
			t.Fatalf("again: fixed %d, %d conflicts, %v; want nothing new", fixed, len(conflicts), err)
		}
	})
}
