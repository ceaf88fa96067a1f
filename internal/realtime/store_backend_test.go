package realtime

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// The channel scenarios also run against the real chat service on both
// stores, with real tokens: what the server runs in production.
func init() {
	backends = append(backends,
		struct {
			name string
			new  func(t testing.TB) backend
		}{"sqlite", func(t testing.TB) backend { return storeBackend(t, storetest.SQLite(t)) }},
		struct {
			name string
			new  func(t testing.TB) backend
		}{"postgres", func(t testing.TB) backend { return storeBackend(t, storetest.Postgres(t)) }},
	)
}

// sessionAuth is the production adapter (cmd/companyapi/sockets.go) over
// auth.Authenticator's Verify.
type sessionAuth struct {
	a   *auth.Authenticator
	svc *chat.Service
}

func (s sessionAuth) Sessions(ctx context.Context, refs []chat.SessionRef) ([]chat.SessionState, error) {
	return s.svc.Sessions(ctx, refs)
}

func (s sessionAuth) Authenticate(ctx context.Context, token string) (Session, error) {
	id, err := s.a.Verify(ctx, token)
	if err != nil {
		return Session{}, err
	}
	sess := Session{UserID: id.User.ID, TokenID: id.Claims.ID, Generation: id.Claims.Generation()}
	if id.Claims.ExpiresAt != nil {
		sess.ExpiresAt = id.Claims.ExpiresAt.Time
	}
	return sess, nil
}

var userSeq atomic.Int64

func storeBackend(t testing.TB, st *store.Store) backend {
	announce := &relay{}
	svc, err := chat.New(chat.Config{
		Client: st.Client, DB: st.DB, Dialect: st.Dialect, Events: announce,
		Hasher: auth.NewHasher(auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	tokens := auth.NewTokens([]byte("realtime-test-secret-0123456789abcdef"), time.Hour)
	return backend{
		Auth:     sessionAuth{&auth.Authenticator{Tokens: tokens, Accounts: svc}, svc},
		Chat:     svc,
		Bind:     announce.bind,
		announce: announce.Announce,
		NewUser: func(t testing.TB) (int, string) {
			n := userSeq.Add(1)
			u, err := svc.Register(context.Background(), chat.Registration{
				Name: "u", Subname: "s", Job: "j", Email: fmt.Sprintf("rt%d@example.com", n)})
			if err != nil {
				t.Fatal(err)
			}
			token, _, err := tokens.Issue(u.ID, u.TokenGeneration)
			if err != nil {
				t.Fatal(err)
			}
			return u.ID, token
		},
		NewToken: func(t testing.TB, userID int) (string, string) {
			token, claims, err := tokens.Issue(userID, 0)
			if err != nil {
				t.Fatal(err)
			}
			return token, claims.ID
		},
		EndQuietly: func(t testing.TB, userID int, tokenID string) {
			ctx := context.Background()
			var err error
			if tokenID != "" {
				err = st.Client.RevokedToken.Create().SetJti(tokenID).SetExpiresAt(time.Now().Add(time.Hour)).Exec(ctx)
			} else {
				err = st.Client.User.UpdateOneID(userID).AddTokenGeneration(1).Exec(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
		},
		NewConversation: func(t testing.TB, a, b int) int {
			c, _, err := svc.CreateConversation(context.Background(), a, b)
			if err != nil {
				t.Fatal(err)
			}
			return c.ID
		},
		Stored: func(t testing.TB, id int) (string, bool) {
			m, err := st.Client.Message.Get(context.Background(), id)
			if err != nil {
				return "", false
			}
			return m.Content, true
		},
	}
}
