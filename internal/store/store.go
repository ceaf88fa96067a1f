// Package store opens the Ent client on the embedded SQLite default or on
// PostgreSQL through one code path, and applies the versioned migrations.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"

	"github.com/companyapi/companyapi/ent"
	// Registers the schema's hooks and defaults with the generated client.
	_ "github.com/companyapi/companyapi/ent/runtime"
)

// Store is an open database: the Ent client and the pool under it.
type Store struct {
	Client  *ent.Client
	DB      *sql.DB
	Dialect string
}

// Options tune Open. Zero values take the defaults.
type Options struct {
	// ConnectTimeout bounds how long an unreachable database is retried.
	ConnectTimeout time.Duration
	// MaxOpenConns caps the pool (PostgreSQL).
	MaxOpenConns int
}

// ErrUnreachable is returned when the database did not answer in time.
var ErrUnreachable = errors.New("database unreachable")

// Open connects to the database named by rawURL (see ParseURL), retrying a
// database that does not answer yet until opts.ConnectTimeout has passed.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 15 * time.Second
	}
	var db *sql.DB
	var entDialect string
	switch loc.Dialect {
	case SQLite:
		if db, err = sql.Open("sqlite", sqliteDSN(loc.DSN)); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		entDialect = dialect.SQLite
		// Writes to one SQLite file are serialised anyway; a small pool keeps
		// the number of waiting writers (and busy retries) low.
		db.SetMaxOpenConns(4)
	case Postgres:
		connector, err := newPGConnector(pgDSN(loc.DSN))
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db = sql.OpenDB(connector)
		entDialect = dialect.Postgres
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 32
		}
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := waitReachable(ctx, db, opts.ConnectTimeout); err != nil {
		db.Close()
		if permanent(err) {
			return nil, fmt.Errorf("%s at %s: %v", loc.Dialect, redact(rawURL), err)
		}
		return nil, fmt.Errorf("%w: %s at %s: %v", ErrUnreachable, loc.Dialect, redact(rawURL), err)
	}
	drv := entsql.OpenDB(entDialect, db)
	return &Store{Client: ent.NewClient(ent.Driver(drv)), DB: db, Dialect: loc.Dialect}, nil
}

// OpenPostgresDB opens a small pool on a PostgreSQL URL, with the same
// context-bounded connections and server-side guards as Open's, for
// components that need raw SQL of their own (the broker's NOTIFY).
func OpenPostgresDB(rawURL string, maxConns int) (*sql.DB, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if loc.Dialect != Postgres {
		return nil, fmt.Errorf("DATABASE_URL is %s, not postgres", loc.Dialect)
	}
	connector, err := newPGConnector(pgDSN(loc.DSN))
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	return db, nil
}

// waitReachable pings with backoff until the database answers or the
// timeout passes, so a database still starting is not a crash and a wrong
// host is not a hang.
func waitReachable(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
		err := db.PingContext(pctx)
		pcancel()
		if err == nil || permanent(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// pgDSN adds to the URL, unless it sets them itself:
//   - lib/pq's binary_parameters: a query with arguments then takes one
//     round trip instead of two (lib/pq otherwise prepares every unnamed
//     statement first), which every request pays for;
//   - server-side guards, runtime parameters PostgreSQL applies to the
//     session: no statement runs longer than statement_timeout, and no
//     transaction whose client went away holds its locks past
//     idle_in_transaction_session_timeout. Requests give up far sooner (see
//     pgconn.go); these stop the server's side of work nobody waits for.
//     Migrations lift statement_timeout for their own connection.
func pgDSN(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for _, p := range pgDefaults {
		if q.Get(p[0]) == "" {
			q.Set(p[0], p[1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

var pgDefaults = [][2]string{
	{"binary_parameters", "yes"},
	{"statement_timeout", "30s"},
	{"idle_in_transaction_session_timeout", "60s"},
}

// permanent reports errors that waiting will not fix: a wrong password or
// role (class 28) or a database that does not exist (3D).
func permanent(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		class := string(pe.Code.Class())
		return class == "28" || class == "3D"
	}
	return false
}

// Ping reports whether the database answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error { return s.DB.PingContext(ctx) }

// Close closes the client and its pool.
func (s *Store) Close() error { return s.Client.Close() }
