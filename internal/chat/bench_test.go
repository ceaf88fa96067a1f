package chat_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/seed"
	"github.com/companyapi/companyapi/internal/storetest"
)

// BenchmarkSendParallel sends from many goroutines at once into many
// conversations on PostgreSQL: the group commit's throughput (ns/op is
// per message across all goroutines).
func BenchmarkSendParallel(b *testing.B) {
	st := storetest.Postgres(b)
	svc, _ := newServiceTB(b, st)
	ctx := context.Background()
	const pairs = 64
	type pair struct{ sender, conv int }
	ps := make([]pair, pairs)
	for i := range ps {
		u1 := mustUserTB(b, svc, "s"+itoa(i))
		u2 := mustUserTB(b, svc, "r"+itoa(i))
		c, _, err := svc.CreateConversation(ctx, u1.ID, u2.ID)
		if err != nil {
			b.Fatal(err)
		}
		ps[i] = pair{u1.ID, c.ID}
	}
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		p := ps[next.Add(1)%pairs]
		for pb.Next() {
			if _, err := svc.SendMessage(ctx, chat.SendInput{SenderID: p.sender, ConversationID: p.conv, Content: "load"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkListConversations lists a user's 200 conversations (a page of
// 50, with their last messages, unread counts and read marks) when they
// hold 1 000 and 100 000 messages: the cost must not grow with the
// messages (O(page): no count over the messages table per request).
func BenchmarkListConversations(b *testing.B) {
	for _, total := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("messages=%d", total), func(b *testing.B) {
			st := storetest.Postgres(b)
			svc, _ := newServiceTB(b, st)
			ctx := context.Background()
			l := seed.Loader{DB: st.DB, Dialect: st.Dialect}
			users, err := l.Users(ctx, "list", 201, "x")
			if err != nil {
				b.Fatal(err)
			}
			pairs := make([][2]int, 200)
			for i := range pairs {
				pairs[i] = [2]int{users[0], users[i+1]}
			}
			convs, err := l.Conversations(ctx, pairs)
			if err != nil {
				b.Fatal(err)
			}
			for i, c := range convs {
				if err := l.Messages(ctx, c, pairs[i], total/len(convs)); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := st.DB.Exec("ANALYZE"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				list, _, err := svc.ListConversations(ctx, users[0], "", 50)
				if err != nil || len(list) != 50 {
					b.Fatalf("%d conversations, %v", len(list), err)
				}
			}
		})
	}
}
