package chat_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestSessions: what a node asks of its connections' tokens after a broker
// gap: a logged-out token, a token of an earlier generation (a password
// changed), a user gone; legacy tokens are judged by logout only.
func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, st)
		ann, bob := mustUser(t, svc, "ann"), mustUser(t, svc, "bob")
		if err := svc.RevokeToken(ctx, ann.ID, "ann-out", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.Client.User.UpdateOneID(bob.ID).AddTokenGeneration(1).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		refs := []chat.SessionRef{
			{UserID: ann.ID, TokenID: "ann-live", Generation: ann.TokenGeneration},
			{UserID: ann.ID, TokenID: "ann-out", Generation: ann.TokenGeneration},
			{UserID: bob.ID, TokenID: "bob-old", Generation: bob.TokenGeneration},
			{UserID: bob.ID, TokenID: "bob-new", Generation: bob.TokenGeneration + 1},
			{UserID: bob.ID, TokenID: "bob-legacy", Generation: chat.LegacyGeneration},
			{UserID: 999999, TokenID: "nobody", Generation: 0},
		}
		got, err := svc.Sessions(ctx, refs)
		if err != nil {
			t.Fatal(err)
		}
		want := []chat.SessionState{chat.SessionLive, chat.SessionLoggedOut, chat.SessionSignedOut, chat.SessionLive, chat.SessionLive, chat.SessionSignedOut}
		if !slices.Equal(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
	})
}
