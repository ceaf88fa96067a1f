package realtime

import (
	"testing"
)

// BenchmarkHeartbeat: one socket's heartbeat round trip, client included:
// the server's per-frame cost of waiting, reading and answering.
func BenchmarkHeartbeat(b *testing.B) {
	be := newFakeBackend(b)
	ts := startServer(b, be, Config{})
	_, _, c := ts.user(b, vsn2)
	b.ReportAllocs()
	for b.Loop() {
		c.heartbeat()
	}
}

// BenchmarkHeartbeatParallel: as BenchmarkHeartbeat, one socket per
// goroutine, so the server's goroutines compete for the CPUs.
func BenchmarkHeartbeatParallel(b *testing.B) {
	be := newFakeBackend(b)
	ts := startServer(b, be, Config{})
	_, tok := be.NewUser(b)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := ts.dial(b, tok, vsn2)
		for pb.Next() {
			c.heartbeat()
		}
	})
}
