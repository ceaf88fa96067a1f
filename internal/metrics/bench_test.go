package metrics_test

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/metrics"
)

// BenchmarkPerMessage is what the metrics add to one chat message sent
// over a socket and pushed to one recipient: the frame in, the send timed,
// its share of a group commit (batches of 8), the push queued, the reply
// and the push written. Many goroutines at once, as on a server.
func BenchmarkPerMessage(b *testing.B) {
	m := metrics.New("bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.FrameIn()
			m.Send(metrics.SendOK, 3*time.Millisecond)
			if i%8 == 0 {
				m.Commit(8, 8, 0, 2*time.Millisecond, false)
			}
			m.Push(true)
			m.FrameOut()
			m.FrameOut()
			i++
		}
	})
}

// BenchmarkScrape is one scrape of a registry as a server's: runtime and
// process collectors, every companyapi_ metric, 20 routes' HTTP series.
func BenchmarkScrape(b *testing.B) {
	m := metrics.New("bench")
	m.Sockets(func() (int, int) { return 2000, 2000 })
	m.Broker(func() bool { return true })
	routes := []string{"/api/users", "/api/login", "/api/logout", "/api/users/me", "/api/users/:id",
		"/api/conversations", "/api/conversations/:id", "/api/conversations/:id/messages", "/healthz", "/readyz"}
	for _, r := range routes {
		for _, code := range []int{200, 201, 401, 404} {
			m.Request(r, "GET", code, time.Millisecond)
			m.Request(r, "POST", code, time.Millisecond)
		}
	}
	h := m.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		_, _ = io.Copy(io.Discard, rec.Body)
	}
}
