package httpapi_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/httpapi"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// benchEnv is the API with the production hash parameters (OWASP argon2id),
// since the hash is what login and registration cost.
func benchEnv(b *testing.B, st *store.Store) *env {
	b.Helper()
	hasher := auth.NewHasher(auth.DefaultArgon2, 0)
	mb := newMailbox(b, st, hasher)
	svc, err := chat.New(chat.Config{Client: st.Client, DB: st.DB, Dialect: st.Dialect, Hasher: hasher})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	tokens := auth.NewTokens(testSecret, time.Hour)
	e, err := httpapi.New(httpapi.Config{
		Chat: svc, Auth: &auth.Authenticator{Tokens: tokens, Accounts: svc}, Tokens: tokens, DB: st,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	return &env{t: b, e: e, svc: svc, st: st, mail: mb, tokens: tokens}
}

func stores(b *testing.B, fn func(b *testing.B, st *store.Store)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, storetest.Postgres(b)) })
}

// BenchmarkLogin is one POST /api/login: the argon2id verify dominates.
func BenchmarkLogin(b *testing.B) {
	stores(b, func(b *testing.B, st *store.Store) {
		v := benchEnv(b, st)
		v.do("POST", "/api/users", map[string]any{"user": map[string]any{"name": "a", "subname": "b", "email": "bench@example.com", "job": "c"}}, "")
		pw := v.mail.password(b, "bench@example.com")
		body := fmt.Sprintf(`{"creds":{"email":"bench@example.com","password":%q}}`, pw)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if res := v.do("POST", "/api/login", body, ""); res.Code != 200 {
				b.Fatalf("login %d %s", res.Code, res.Body)
			}
		}
	})
}

// BenchmarkRegister is one POST /api/users: the account and its welcome
// mail inserted in one transaction (the password is made when the mail is
// sent, off the request).
func BenchmarkRegister(b *testing.B) {
	stores(b, func(b *testing.B, st *store.Store) {
		v := benchEnv(b, st)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			body := fmt.Sprintf(`{"user":{"name":"a","subname":"b","email":"u%d@example.com","job":"c"}}`, i)
			if res := v.do("POST", "/api/users", body, ""); res.Code != 201 {
				b.Fatalf("register %d %s", res.Code, res.Body)
			}
		}
	})
}
