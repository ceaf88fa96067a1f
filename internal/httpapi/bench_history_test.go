package httpapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/companyapi/companyapi/internal/seed"
	"github.com/companyapi/companyapi/internal/storetest"
)

// BenchmarkHistoryPage reads the latest 50 messages of a conversation over
// REST on PostgreSQL. The keyset on (conversation_id, id) keeps a page
// O(limit): compare the 1 000- and 100 000-message runs.
func BenchmarkHistoryPage(b *testing.B) {
	for _, size := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("messages=%d", size), func(b *testing.B) {
			v := newEnvTB(b, storetest.Postgres(b))
			a, bob := v.register("ann"), v.register("bob")
			conv, _ := openConv(v.t, v, a, bob.ID)
			if err := (seed.Loader{DB: v.st.DB, Dialect: v.st.Dialect}).Messages(context.Background(), conv, [2]int{a.ID, bob.ID}, size); err != nil {
				b.Fatal(err)
			}
			if _, err := v.st.DB.Exec("ANALYZE messages"); err != nil {
				b.Fatal(err)
			}
			latest := fmt.Sprintf("/api/conversations/%d/messages?limit=50", conv)
			middle := fmt.Sprintf("/api/conversations/%d/messages?limit=50&before=%d", conv, firstID(v, conv)+size/2)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				path := latest
				if i%2 == 1 {
					path = middle
				}
				i++
				if res := v.do("GET", path, nil, a.Token); res.Code != 200 {
					b.Fatalf("history %d %s", res.Code, res.Body)
				}
			}
		})
	}
}

// BenchmarkSendMessage posts one message over REST on PostgreSQL: validate,
// authorize (cached participants), commit, publish.
func BenchmarkSendMessage(b *testing.B) {
	v := newEnvTB(b, storetest.Postgres(b))
	a, bob := v.register("ann"), v.register("bob")
	conv, _ := openConv(v.t, v, a, bob.ID)
	path := fmt.Sprintf("/api/conversations/%d/messages", conv)
	body := `{"message":{"content":"Hi! This is message"}}`
	b.ReportAllocs()
	for b.Loop() {
		if res := v.do("POST", path, body, a.Token); res.Code != 201 {
			b.Fatalf("send %d %s", res.Code, res.Body)
		}
	}
}

func firstID(v *env, conv int) int {
	var id int
	if err := v.st.DB.QueryRow("SELECT min(id) FROM messages WHERE conversation_id = $1", conv).Scan(&id); err != nil {
		v.t.Fatal(err)
	}
	return id
}
