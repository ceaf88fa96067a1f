package system

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/seed"
)

// password is every seeded user's password.
const password = "system-test-password"

var (
	hashOnce sync.Once
	hash     string
	prefixes atomic.Int64
)

// world is a migrated database with users seeded straight into it, and
// tokens signed with the nodes' secret.
type world struct {
	t      testing.TB
	url    string
	db     *sql.DB
	tokens *auth.Tokens
}

func newWorld(t testing.TB, dbURL string) *world {
	t.Helper()
	migrate(t, dbURL)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hashOnce.Do(func() {
		hash, err = auth.NewHasher(auth.DefaultArgon2, 0).Hash(context.Background(), password)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, url: dbURL, db: db, tokens: auth.NewTokens([]byte(testSecret), 24*time.Hour)}
}

// users seeds n users and returns their ids; their emails are
// <prefix><i>@seed.test.
func (w *world) users(n int) (ids []int, emails []string) {
	w.t.Helper()
	prefix := fmt.Sprintf("u%d_", prefixes.Add(1))
	ids, err := seed.Loader{DB: w.db, Dialect: "postgres"}.Users(context.Background(), prefix, n, hash)
	if err != nil {
		w.t.Fatal(err)
	}
	for i := range n {
		emails = append(emails, fmt.Sprintf("%s%d@seed.test", prefix, i))
	}
	return ids, emails
}

// conversation opens a conversation between a and b.
func (w *world) conversation(a, b int) int {
	w.t.Helper()
	ids, err := seed.Loader{DB: w.db, Dialect: "postgres"}.Conversations(context.Background(), [][2]int{{a, b}})
	if err != nil {
		w.t.Fatal(err)
	}
	return ids[0]
}

func (w *world) token(uid int) string {
	w.t.Helper()
	tok, _, err := w.tokens.Issue(uid)
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// storedClientIDs counts the rows of each client_id of sender.
func (w *world) storedClientIDs(sender int) map[string]int {
	w.t.Helper()
	got := map[string]int{}
	rows, err := w.db.Query(`SELECT client_id FROM messages WHERE sender_id = $1 AND client_id IS NOT NULL`, sender)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			w.t.Fatal(err)
		}
		got[c]++
	}
	return got
}
