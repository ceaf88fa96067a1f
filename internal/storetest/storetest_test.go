package storetest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/companyapi/companyapi/internal/store"
)

func TestEach(t *testing.T) {
	var ran []string
	Each(t, func(t *testing.T, s *store.Store) {
		ran = append(ran, s.Dialect)
		if !strings.HasSuffix(t.Name(), "/"+s.Dialect) {
			t.Errorf("subtest %s runs on %s", t.Name(), s.Dialect)
		}
		status, err := s.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range status {
			if !r.Applied {
				t.Errorf("%s not applied", r.Version)
			}
		}
		if n := s.Client.User.Query().CountX(context.Background()); n != 0 {
			t.Errorf("fresh store has %d users", n)
		}
	})
	if len(ran) == 0 || ran[0] != store.SQLite {
		t.Errorf("ran %v, want sqlite first", ran)
	}
}

func TestSQLiteURL(t *testing.T) {
	a, b := SQLiteURL(t), SQLiteURL(t)
	if a == b || !strings.HasPrefix(a, "sqlite://") {
		t.Errorf("SQLiteURL = %q, %q; want two distinct sqlite:// URLs", a, b)
	}
	if _, err := store.ParseURL(a); err != nil {
		t.Error(err)
	}
}

// TestPostgresDatabases creates databases from many goroutines at once, as
// parallel test packages do, and checks each is dropped when its test ends.
func TestPostgresDatabases(t *testing.T) {
	srv := server(t)
	names := make(chan string, 16)
	t.Run("group", func(t *testing.T) {
		for i := range cap(names) {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				raw := PostgresURL(t)
				u, err := url.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				name := strings.TrimPrefix(u.Path, "/")
				names <- name
				s, err := store.Open(context.Background(), raw, openOptions)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				var got string
				if err := s.DB.QueryRow(`SELECT current_database()`).Scan(&got); err != nil || got != name {
					t.Fatalf("connected to %q (%v), want %q", got, err, name)
				}
			})
		}
	})
	close(names)
	for name := range names {
		var n int
		if err := srv.admin.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s left behind", name)
		}
	}
}
