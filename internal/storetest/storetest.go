// Package storetest gives tests fresh, migrated stores on both dialects:
// SQLite in a temporary file and PostgreSQL in a throwaway database on
// whatever server answers. It is for tests only.
//
// PostgreSQL is looked for once per test binary: TEST_DATABASE_URL if set,
// else 127.0.0.1:5432 as user postgres, then root (trust auth). Each test
// gets its own database, dropped when the test ends. When no server answers
// the PostgreSQL half is skipped with a loud message, or fails when CI=true
// or REQUIRE_POSTGRES=1 (internal/storetest/with-postgres.sh sets both up).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/companyapi/companyapi/internal/store"
)

// openOptions keep each test's pool small: many test databases share one
// server, and go test runs packages in parallel.
var openOptions = store.Options{ConnectTimeout: 10 * time.Second, MaxOpenConns: 8}

// Each runs fn as the subtests "sqlite" and "postgres", each on its own
// fresh, migrated store that is closed and removed when the subtest ends.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run(store.SQLite, func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run(store.Postgres, func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a fresh, migrated SQLite store in t.TempDir().
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return openMigrated(t, SQLiteURL(t))
}

// Postgres returns a fresh, migrated store on its own PostgreSQL database.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	return openMigrated(t, PostgresURL(t))
}

// SQLiteURL returns the URL of a new, empty SQLite file in t.TempDir().
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
}

// PostgresURL creates an empty database for t and returns its URL; the
// database is dropped when t ends. It skips or fails t (see the package doc)
// when no PostgreSQL server answers.
func PostgresURL(t testing.TB) string {
	t.Helper()
	srv := server(t)
	name := "companyapi_t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.createDatabase(ctx, name); err != nil {
		t.Fatalf("storetest: create database %s on %s: %v", name, srv.redacted, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := srv.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	u := *srv.url
	u.Path = "/" + name
	t.Logf("storetest: PostgreSQL database %s on %s", name, srv.redacted)
	return u.String()
}

func openMigrated(t testing.TB, rawURL string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := store.Open(ctx, rawURL, openOptions)
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: close: %v", err)
		}
	})
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", s.Dialect, err)
	}
	return s
}

// pgServer is the PostgreSQL server the test binary found.
type pgServer struct {
	url      *url.URL // points at the server's maintenance database
	redacted string
	admin    *sql.DB
}

var (
	serverOnce  sync.Once
	serverFound *pgServer
	serverErr   error
)

// server finds a PostgreSQL server once per test binary, or skips or fails t.
func server(t testing.TB) *pgServer {
	t.Helper()
	serverOnce.Do(func() { serverFound, serverErr = findServer() })
	if serverErr == nil {
		return serverFound
	}
	if required() {
		t.Fatalf("storetest: PostgreSQL required (CI=true or REQUIRE_POSTGRES=1) but none answers: %v\n"+
			"\tstart one on 127.0.0.1:5432, set TEST_DATABASE_URL, or run under internal/storetest/with-postgres.sh", serverErr)
	}
	t.Skipf("storetest: PostgreSQL half skipped: %v\n"+
		"\t*** this test ran on SQLite only. Set TEST_DATABASE_URL, start PostgreSQL on 127.0.0.1:5432,\n"+
		"\t*** or run: bash internal/storetest/with-postgres.sh go test ./...  (CI=true or REQUIRE_POSTGRES=1 turns this skip into a failure)", serverErr)
	return nil
}

func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("REQUIRE_POSTGRES") == "1"
}

// findServer tries TEST_DATABASE_URL alone when it is set, else the local
// server on port 5432 as postgres, then as root.
func findServer() (*pgServer, error) {
	candidates := []string{
		"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"postgres://root@127.0.0.1:5432/postgres?sslmode=disable",
	}
	if v := os.Getenv("TEST_DATABASE_URL"); v != "" {
		candidates = []string{v}
	}
	var errs []error
	for _, c := range candidates {
		srv, err := connect(c)
		if err == nil {
			fmt.Fprintf(os.Stderr, "storetest: using PostgreSQL at %s\n", srv.redacted)
			return srv, nil
		}
		errs = append(errs, err)
	}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return nil, fmt.Errorf("TEST_DATABASE_URL: %w", errors.Join(errs...))
	}
	return nil, errors.Join(errs...)
}

func connect(raw string) (*pgServer, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("want a postgres://USER@HOST:PORT/DB URL")
	}
	redacted := u.Redacted()
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
		u.RawQuery = q.Encode()
	}
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redacted, err)
	}
	db.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var canCreate bool
	err = db.QueryRowContext(ctx, `SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&canCreate)
	if err == nil && !canCreate {
		err = errors.New("role may not create databases")
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", redacted, err)
	}
	return &pgServer{url: u, redacted: redacted, admin: db}, nil
}

// createDatabase creates an empty database. Test binaries of several
// packages (go test -p N) create databases on one server at once, and
// CREATE DATABASE copies template1, which fails while another session holds
// it; a server-wide advisory lock serialises the creates, and a busy
// template is retried.
func (s *pgServer) createDatabase(ctx context.Context, name string) error {
	const lockKey = 7310052281 // arbitrary, shared by every storetest binary
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		err = func() error {
			conn, err := s.admin.Conn(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
				return err
			}
			defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, lockKey) //nolint:errcheck // the lock also ends with the session
			_, err = conn.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
			return err
		}()
		if err == nil || !retryable(err) {
			return err
		}
	}
	return err
}

// retryable reports a CREATE DATABASE that failed only because the template
// was busy (object_in_use) or the catalog update raced (unique_violation).
func retryable(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "55006" || pqErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "being accessed by other users")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
