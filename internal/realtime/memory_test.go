package realtime

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
)

// TestIdleSocketMemory reports the memory per idle joined socket (target:
// 12 KiB). It measures rather than asserts, since the figure depends on
// the Go version, GODEBUG=adaptivestackstart and the race detector; run
//
//	REALTIME_MEMORY=1 go test -run TestIdleSocketMemory -v ./internal/realtime/
//
// With REALTIME_MEMPROFILE=<file> (and -memprofilerate 1) it also writes
// the heap profile of the live sockets there, for go tool pprof.
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
	// One user per socket, as in chatbench's idle scenario: one user's
	// devices all see each other's presence, which is not what an idle
	// socket costs.
	tokens := make([]string, n)
	for i := range tokens {
		_, tokens[i] = b.NewUser(t)
	}
	addr := strings.TrimPrefix(ts.ts.URL, "http://")

	before := memStats()
	goroutines := runtime.NumGoroutine()
	for _, tok := range tokens {
		conn, err := rawJoin(addr, tok, false)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
	}
	// rawJoin returned after each join's reply and presence_state.
	if path := os.Getenv("REALTIME_MEMPROFILE"); path != "" {
		writeHeapProfile(t, path)
	}
	after := memStats()
	heap := float64(after.HeapInuse-before.HeapInuse) / n
	stack := float64(after.StackInuse-before.StackInuse) / n
	t.Logf("per idle joined socket: %.0f B (heap %.0f B, stacks %.0f B), %.2f goroutines",
		heap+stack, heap, stack, float64(runtime.NumGoroutine()-goroutines)/n)
}

func writeHeapProfile(t *testing.T, path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
}
