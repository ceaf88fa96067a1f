package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/lib/pq"
	"modernc.org/sqlite"
)

// Unavailable reports whether err means the database could not answer in
// time — stopped, frozen, unreachable, overloaded, a lock or statement
// timeout, a context that ended — rather than that the request was wrong.
// Callers answer such errors with "unavailable" (HTTP 503), which tells a
// client to try again, never with "internal error".
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || err.Error() == "sql: database is closed" {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code.Class() {
		case "08", // connection exception
			"53", // insufficient resources: too many connections, out of memory, disk full
			"57": // operator intervention: shutdown, cannot connect now, query canceled
			return true
		}
		switch pe.Code {
		case "55P03", // lock_not_available: lock_timeout
			"40001", // serialization_failure
			"40P01": // deadlock_detected
			return true
		}
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary code; extended codes keep it in the low byte
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}
