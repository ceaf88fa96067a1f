package store

import (
	"database/sql"
	"net/url"

	"modernc.org/sqlite"
)

// Ent's and Atlas's SQLite dialect opens the driver named "sqlite3", while
// modernc.org/sqlite registers itself as "sqlite"; register it under both.
func init() {
	for _, name := range sql.Drivers() {
		if name == "sqlite3" {
			return
		}
	}
	sql.Register("sqlite3", &sqlite.Driver{})
}

// sqliteDSN turns a file path into a modernc DSN with the pragmas every
// connection needs: foreign keys enforced, WAL so readers do not block the
// writer, a busy timeout instead of immediate SQLITE_BUSY, and BEGIN
// IMMEDIATE so a read transaction never has to upgrade to a write and
// deadlock.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}
