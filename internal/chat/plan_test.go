package chat_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/seed"
	"github.com/companyapi/companyapi/internal/storetest"
)

// queryLog records the queries a driver runs, with their arguments.
type queryLog struct {
	dialect.Driver
	mu      sync.Mutex
	queries []string
	args    [][]any
}

func (q *queryLog) Query(ctx context.Context, query string, args, v any) error {
	q.mu.Lock()
	a, _ := args.([]any)
	q.queries, q.args = append(q.queries, query), append(q.args, a)
	q.mu.Unlock()
	return q.Driver.Query(ctx, query, args, v)
}

// TestHistoryPlanUsesConversationIndex reproduces stale statistics — the
// conversation was analyzed, then 200 000 newer messages of another one
// arrived — and checks that the history query PostgreSQL gets still reads
// the (conversation_id, id) index instead of walking the primary key
// backwards through every newer row.
func TestHistoryPlanUsesConversationIndex(t *testing.T) {
	st := storetest.Postgres(t)
	ctx := context.Background()
	log := &queryLog{Driver: entsql.OpenDB(dialect.Postgres, st.DB)}
	svc := newServiceWith(t, st, func(c *chat.Config) { c.Client = ent.NewClient(ent.Driver(log)) })
	l := seed.Loader{DB: st.DB, Dialect: st.Dialect}
	users, err := l.Users(ctx, "plan", 3, "x")
	if err != nil {
		t.Fatal(err)
	}
	convs, err := l.Conversations(ctx, [][2]int{{users[0], users[1]}, {users[0], users[2]}})
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"ALTER TABLE messages SET (autovacuum_enabled = false)"} {
		if _, err := st.DB.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Messages(ctx, convs[0], [2]int{users[0], users[1]}, 20_000); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.Exec("ANALYZE messages"); err != nil {
		t.Fatal(err)
	}
	if err := l.Messages(ctx, convs[1], [2]int{users[0], users[2]}, 200_000); err != nil {
		t.Fatal(err)
	}
	for _, q := range []chat.HistoryQuery{{Limit: 50}, {Limit: 50, After: 1}} {
		log.mu.Lock()
		log.queries, log.args = nil, nil
		log.mu.Unlock()
		if _, err := svc.History(ctx, users[1], convs[0], q); err != nil {
			t.Fatal(err)
		}
		query, args := "", []any(nil)
		for i, s := range log.queries {
			if strings.Contains(s, `FROM "messages"`) && strings.Contains(s, "LIMIT") {
				query, args = s, log.args[i]
			}
		}
		if query == "" {
			t.Fatalf("no page query among %q", log.queries)
		}
		rows, err := st.DB.Query("EXPLAIN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			rows.Scan(&line)
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), "message_conversation_id_id") {
			t.Fatalf("history page does not read the (conversation_id, id) index:\n%s\n%s", query, plan.String())
		}
	}
}
