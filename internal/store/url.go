package store

import (
	"fmt"
	"net/url"
	"strings"
)

// Dialects a DATABASE_URL may select.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Location is a parsed DATABASE_URL.
type Location struct {
	Dialect string
	// DSN is what database/sql opens: a file path for SQLite, the URL for
	// PostgreSQL.
	DSN string
}

// DefaultURL is the embedded store used when DATABASE_URL is unset.
const DefaultURL = "sqlite://companyapi.db"

// ParseURL reads sqlite://PATH or postgres://… and refuses anything else.
func ParseURL(raw string) (Location, error) {
	if raw == "" {
		raw = DefaultURL
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Location{}, fmt.Errorf("DATABASE_URL %q: want sqlite://PATH or postgres://USER@HOST/DB", redact(raw))
	}
	switch scheme {
	case "sqlite", "sqlite3", "file":
		path, query, _ := strings.Cut(rest, "?")
		if path == "" {
			return Location{}, fmt.Errorf("DATABASE_URL %q: sqlite:// needs a file path, e.g. sqlite://companyapi.db", redact(raw))
		}
		if query != "" {
			return Location{}, fmt.Errorf("DATABASE_URL %q: sqlite:// takes no query parameters; the store sets its own pragmas", redact(raw))
		}
		return Location{Dialect: SQLite, DSN: path}, nil
	case "postgres", "postgresql":
		u, err := url.Parse(raw)
		if err != nil {
			return Location{}, fmt.Errorf("DATABASE_URL: %v", redactErr(err))
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return Location{}, fmt.Errorf("DATABASE_URL %q: postgres:// needs a host", redact(raw))
		}
		return Location{Dialect: Postgres, DSN: raw}, nil
	default:
		return Location{}, fmt.Errorf("DATABASE_URL %q: unknown scheme %q, want sqlite or postgres", redact(raw), scheme)
	}
}

// redact hides a password in a URL so it never reaches a log or terminal.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "…" + raw[i:]
		}
		return raw
	}
	return u.Redacted()
}

func redactErr(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}
