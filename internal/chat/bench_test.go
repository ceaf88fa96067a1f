package chat_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
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
