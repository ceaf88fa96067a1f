// Package seed bulk-loads users, conversations and messages for benchmarks
// and load tests: COPY on PostgreSQL, multi-row INSERTs in one transaction
// on SQLite — never row by row through the registration path.
package seed

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	_ "github.com/lib/pq" // COPY FROM STDIN through database/sql.
)

// Loader writes rows straight into the store's tables.
type Loader struct {
	DB      *sql.DB
	Dialect string // "postgres" or "sqlite"
}

// Users inserts n users named <prefix><i> with emails <prefix><i>@seed.test,
// all with passwordHash, and returns their ids in order.
func (l Loader) Users(ctx context.Context, prefix string, n int, passwordHash string) ([]int, error) {
	now := time.Now().UTC()
	rows := make([][]any, n)
	for i := range rows {
		name := fmt.Sprintf("%s%d", prefix, i)
		rows[i] = []any{now, now, name, "Seed", strings.ToLower(name) + "@seed.test", "tester", passwordHash}
	}
	if err := l.load(ctx, "users", []string{"inserted_at", "updated_at", "name", "subname", "email", "job", "password_hash"}, rows); err != nil {
		return nil, err
	}
	return l.ids(ctx, `SELECT id FROM users WHERE email LIKE `+l.ph(1)+` ORDER BY id`, strings.ToLower(prefix)+"%@seed.test", n)
}

// Conversations opens one conversation per pair (sender, recipient) and
// returns their ids in the order of pairs.
func (l Loader) Conversations(ctx context.Context, pairs [][2]int) ([]int, error) {
	now := time.Now().UTC()
	rows := make([][]any, len(pairs))
	for i, p := range pairs {
		rows[i] = []any{now, now, p[0], p[1], min(p[0], p[1]), max(p[0], p[1]), now}
	}
	cols := []string{"inserted_at", "updated_at", "sender_id", "recipient_id", "user_low", "user_high", "last_activity_at"}
	if err := l.load(ctx, "conversations", cols, rows); err != nil {
		return nil, err
	}
	ids := make([]int, len(pairs))
	for i, p := range pairs {
		if err := l.DB.QueryRowContext(ctx, `SELECT id FROM conversations WHERE user_low = `+l.ph(1)+` AND user_high = `+l.ph(2),
			min(p[0], p[1]), max(p[0], p[1])).Scan(&ids[i]); err != nil {
			return nil, fmt.Errorf("conversation %v: %w", p, err)
		}
	}
	return ids, nil
}

// Messages appends n messages to conversation convID, alternating between
// the two senders, and points the conversation at the last one.
func (l Loader) Messages(ctx context.Context, convID int, senders [2]int, n int) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{fmt.Sprintf("seed message %d", i), now, convID, senders[i%2]}
	}
	if err := l.load(ctx, "messages", []string{"content", "date", "conversation_id", "sender_id"}, rows); err != nil {
		return err
	}
	_, err := l.DB.ExecContext(ctx, `UPDATE conversations SET last_activity_at = `+l.ph(1)+
		`, last_message_id = (SELECT max(id) FROM messages WHERE conversation_id = `+l.ph(2)+`) WHERE id = `+l.ph(3), now, convID, convID)
	return err
}

func (l Loader) ph(i int) string {
	if l.Dialect == "postgres" {
		return fmt.Sprintf("$%d", i)
	}
	return "?"
}

func (l Loader) ids(ctx context.Context, query string, arg any, want int) ([]int, error) {
	rs, err := l.DB.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make([]int, 0, want)
	for rs.Next() {
		var id int
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if len(out) != want {
		return nil, fmt.Errorf("seed: found %d rows, want %d (prefix already used?)", len(out), want)
	}
	return out, rs.Err()
}

// load inserts rows in one transaction: COPY on PostgreSQL, INSERTs of
// many rows each on SQLite (its bound-parameter limit is 32766).
func (l Loader) load(ctx context.Context, table string, cols []string, rows [][]any) error {
	tx, err := l.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if l.Dialect == "postgres" {
		stmt, err := tx.PrepareContext(ctx, "COPY "+table+" ("+strings.Join(cols, ", ")+") FROM STDIN")
		if err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := stmt.ExecContext(ctx, r...); err != nil {
				return err
			}
		}
		if _, err := stmt.ExecContext(ctx); err != nil {
			return err
		}
		if err := stmt.Close(); err != nil {
			return err
		}
		return tx.Commit()
	}
	per := 30000 / len(cols)
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, len(chunk)*len(cols))
		tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}
