package seed_test

import (
	"context"
	"testing"

	"github.com/companyapi/companyapi/internal/seed"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

func TestLoader(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := seed.Loader{DB: st.DB, Dialect: st.Dialect}
		ids, err := l.Users(ctx, "Load", 1500, "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5")
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1500 {
			t.Fatalf("%d ids", len(ids))
		}
		u, err := st.Client.User.Get(ctx, ids[7])
		if err != nil || u.Email != "load7@seed.test" {
			t.Fatalf("user %+v (%v)", u, err)
		}
		convs, err := l.Conversations(ctx, [][2]int{{ids[0], ids[1]}, {ids[3], ids[2]}})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Messages(ctx, convs[1], [2]int{ids[3], ids[2]}, 2500); err != nil {
			t.Fatal(err)
		}
		n, err := st.Client.Message.Query().Count(ctx)
		if err != nil || n != 2500 {
			t.Fatalf("%d messages (%v)", n, err)
		}
		c, err := st.Client.Conversation.Get(ctx, convs[1])
		if err != nil || c.LastMessageID == nil || c.UserLow != ids[2] {
			t.Fatalf("conversation %+v (%v)", c, err)
		}
	})
}
