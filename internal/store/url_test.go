package store_test

import (
	"strings"
	"testing"

	"github.com/companyapi/companyapi/internal/store"
)

func TestParseURL(t *testing.T) {
	ok := []struct {
		name, raw    string
		dialect, dsn string
	}{
		{"ok, empty is the default", "", store.SQLite, "companyapi.db"},
		{"ok, sqlite relative path", "sqlite://data/chat.db", store.SQLite, "data/chat.db"},
		{"ok, sqlite absolute path", "sqlite:///var/lib/companyapi/chat.db", store.SQLite, "/var/lib/companyapi/chat.db"},
		{"ok, postgres", "postgres://app:hunter2@db.internal:5432/chat?sslmode=disable",
			store.Postgres, "postgres://app:hunter2@db.internal:5432/chat?sslmode=disable"},
		{"ok, postgresql scheme", "postgresql://app@db/chat", store.Postgres, "postgresql://app@db/chat"},
		{"ok, postgres over a socket", "postgres:///chat?host=/run/postgresql", store.Postgres, "postgres:///chat?host=/run/postgresql"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := store.ParseURL(tc.raw)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tc.raw, err)
			}
			if loc.Dialect != tc.dialect || loc.DSN != tc.dsn {
				t.Errorf("ParseURL(%q) = %+v, want dialect %q dsn %q", tc.raw, loc, tc.dialect, tc.dsn)
			}
		})
	}

	bad := []struct{ name, raw string }{
		{"nok, no scheme", "://x"},
		{"nok, mysql", "mysql://"},
		{"nok, mysql with a password", "mysql://app:hunter2@db/chat"},
		{"nok, sqlite without a path", "sqlite://"},
		{"nok, sqlite with parameters", "sqlite://chat.db?_pragma=foreign_keys(0)"},
		{"nok, postgres without a host", "postgres://"},
		{"nok, postgres without a host, with a password", "postgres://app:hunter2@/chat"},
		{"nok, postgres with a bad port and a password", "postgres://app:hunter2@db:port/chat"},
		{"nok, no scheme, with a password", "app:hunter2@db/chat"},
		{"nok, password containing @", "mysql://u:hunter2@x@host:bad/db"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := store.ParseURL(tc.raw)
			if err == nil {
				t.Fatalf("ParseURL(%q) = %+v, want an error", tc.raw, loc)
			}
			msg := err.Error()
			if !strings.Contains(msg, "DATABASE_URL") {
				t.Errorf("error %q does not name DATABASE_URL", msg)
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error %q shows the password", msg)
			}
		})
	}
}
