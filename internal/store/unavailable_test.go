package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/lib/pq"
)

func TestUnavailable(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"ok, deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"ok, bad connection", driver.ErrBadConn, true},
		{"ok, refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"ok, admin shutdown", &pq.Error{Code: "57P01"}, true},
		{"ok, cannot connect now", &pq.Error{Code: "57P03"}, true},
		{"ok, statement timeout", &pq.Error{Code: "57014"}, true},
		{"ok, lock timeout", &pq.Error{Code: "55P03"}, true},
		{"ok, too many connections", &pq.Error{Code: "53300"}, true},
		{"ok, connection failure", &pq.Error{Code: "08006"}, true},
		{"ok, database closed", errors.New("sql: database is closed"), true},
		{"nok, no rows", sql.ErrNoRows, false},
		{"nok, unique violation", &pq.Error{Code: "23505"}, false},
		{"nok, syntax error", &pq.Error{Code: "42601"}, false},
		{"nok, nil", nil, false},
		{"nok, other", errors.New("boom"), false},
	}
	for _, c := range cases {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
