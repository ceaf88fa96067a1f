package realtime

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestIdleSocketMemory reports the memory per idle joined socket (target:
// 12 KiB). It measures rather than asserts, since the figure depends on
// the Go version, GODEBUG=adaptivestackstart and the race detector; run
//
//	REALTIME_MEMORY=1 go test -run TestIdleSocketMemory -v ./internal/realtime/
//
// The clients are raw TCP connections, so the figure is the server's plus
// a few hundred bytes of client socket.
func TestIdleSocketMemory(t *testing.T) {
	if os.Getenv("REALTIME_MEMORY") == "" {
		t.Skip("set REALTIME_MEMORY=1 to measure")
	}
	const n = 2000
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	uid, tok := b.NewUser(t)
	addr := strings.TrimPrefix(ts.ts.URL, "http://")

	before := memStats()
	goroutines := runtime.NumGoroutine()
	for range n {
		conn, err := rawJoin(addr, tok, false)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
	}
	eventually(t, "all sockets joined", func() bool { return len(ts.socketsOf(uid)) == n })
	after := memStats()
	heap := float64(after.HeapInuse-before.HeapInuse) / n
	stack := float64(after.StackInuse-before.StackInuse) / n
	t.Logf("per idle joined socket: %.0f B (heap %.0f B, stacks %.0f B), %.2f goroutines",
		heap+stack, heap, stack, float64(runtime.NumGoroutine()-goroutines)/n)
}
