package metrics_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	_ "modernc.org/sqlite"

	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/metrics/metricstest"
)

// TestNilIsNoop: every method takes a nil *Metrics, as tests and servers
// without ADMIN_ADDR pass one.
func TestNilIsNoop(t *testing.T) {
	var m *metrics.Metrics
	m.Request("/x", "GET", 200, time.Millisecond)
	m.RateLimited("/x")
	m.Sockets(func() (int, int) { return 0, 0 })
	m.SocketOpened(metrics.TransportWebSocket)
	m.Join(true)
	m.FrameIn()
	m.FrameOut()
	m.Push(true)
	m.SocketClosed(metrics.CloseClient)
	m.Commit(1, 1, 0, time.Millisecond, false)
	m.Send(metrics.SendOK, time.Millisecond)
	m.Broker(func() bool { return true })
	m.Published(true, time.Millisecond)
	m.DroppedBatch()
	m.Received(time.Millisecond, true)
	m.Gap()
	m.Resync()
	m.MailAttempt(metrics.MailSent)
	m.Outbox(nil)
	m.DB(nil)
	if m.Registry() != nil {
		t.Fatal("a nil Metrics has a registry")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("a nil Metrics' handler answered %d", rec.Code)
	}
}

// TestNamesFollowConventions: promlint (the checks of `promtool check
// metrics`) finds nothing to say about any metric, and every metric of
// ours is prefixed companyapi_.
func TestNamesFollowConventions(t *testing.T) {
	m := full(t)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	for _, name := range metricstest.Get(t, m).Names() {
		if !strings.HasPrefix(name, "companyapi_") && !strings.HasPrefix(name, "go_") &&
			!strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "promhttp_") {
			t.Errorf("%s: not companyapi_, nor the runtime's, process' or handler's", name)
		}
	}
}

// full is a Metrics with every scrape-time source registered.
func full(t *testing.T) *metrics.Metrics {
	t.Helper()
	m := metrics.New("test")
	m.Sockets(func() (int, int) { return 3, 2 })
	m.Broker(func() bool { return true })
	m.Outbox(func(context.Context) (metrics.OutboxStats, error) {
		return metrics.OutboxStats{Pending: 4, Oldest: 90 * time.Second, Failed: 1}, nil
	})
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m.DB(db)
	return m
}

// TestSeriesExistFromTheStart: a fresh process exports every series with
// fixed labels at 0, so a dashboard's rate() has a start to count from.
func TestSeriesExistFromTheStart(t *testing.T) {
	s := metricstest.Get(t, full(t))
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"companyapi_socket_closes_total", []string{"reason", metrics.CloseSlowConsumer}},
		{"companyapi_socket_closes_total", []string{"reason", metrics.CloseClient}},
		{"companyapi_socket_pushes_total", []string{"result", "dropped"}},
		{"companyapi_socket_joins_total", []string{"result", "refused"}},
		{"companyapi_message_send_duration_seconds", []string{"result", "unavailable"}},
		{"companyapi_outbox_attempts_total", []string{"outcome", metrics.MailGivenUp}},
		{"companyapi_broker_published_payloads_total", []string{"result", "error"}},
		{"companyapi_messages_committed_total", nil},
		{"companyapi_build_info", []string{"version", "test"}},
		{"go_sql_open_connections", []string{"db_name", "companyapi"}},
	} {
		if !s.Has(c.name, c.labels...) {
			t.Errorf("%s%v: no such series before anything happened", c.name, c.labels)
		}
	}
}

// TestLabelsStayBounded: whatever a client sends, labels take values from
// fixed sets.
func TestLabelsStayBounded(t *testing.T) {
	m := metrics.New("test")
	m.Request("", "BREW", 404, time.Millisecond)
	m.SocketClosed("a reason the client chose")
	m.Send("something new", time.Millisecond)
	m.MailAttempt("unheard of")
	s := metricstest.Get(t, m)
	if v := s.Value(t, "companyapi_http_requests_total", "route", metrics.UnmatchedRoute, "method", "OTHER", "code", "404"); v != 1 {
		t.Errorf("unmatched route, unknown method: %v, want 1", v)
	}
	if v := s.Value(t, "companyapi_socket_closes_total", "reason", metrics.CloseOther); v != 1 {
		t.Errorf("unknown close reason counted %v times as other, want 1", v)
	}
	if v := s.Value(t, "companyapi_message_send_duration_seconds", "result", "internal"); v != 1 {
		t.Errorf("unknown send result counted %v times as internal, want 1", v)
	}
	if v := s.Value(t, "companyapi_outbox_attempts_total"); v != 0 {
		t.Errorf("an unknown mail outcome was counted: %v", v)
	}
}

// TestScrapeTimeSources: sockets, broker state and the outbox are read at
// each scrape; an outbox that cannot be read leaves its gauges out, and
// the rest of the scrape is served.
func TestScrapeTimeSources(t *testing.T) {
	m := metrics.New("test")
	open, joined := 5, 3
	m.Sockets(func() (int, int) { return open, joined })
	connected := true
	m.Broker(func() bool { return connected })
	var statsErr error
	m.Outbox(func(context.Context) (metrics.OutboxStats, error) {
		return metrics.OutboxStats{Pending: 2, Oldest: 30 * time.Second, Failed: 1}, statsErr
	})
	s := metricstest.Get(t, m)
	for name, want := range map[string]float64{
		"companyapi_sockets_open": 5, "companyapi_sockets_joined": 3, "companyapi_broker_connected": 1,
		"companyapi_outbox_pending_mails": 2, "companyapi_outbox_oldest_pending_age_seconds": 30,
		"companyapi_outbox_failed_mails": 1,
	} {
		if v := s.Value(t, name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	open, connected, statsErr = 6, false, errors.New("database down")
	s = metricstest.Get(t, m)
	if v := s.Value(t, "companyapi_sockets_open"); v != 6 {
		t.Errorf("sockets_open = %v after a socket opened, want 6", v)
	}
	if v := s.Value(t, "companyapi_broker_connected"); v != 0 {
		t.Errorf("broker_connected = %v while disconnected", v)
	}
	if _, ok := s["companyapi_outbox_pending_mails"]; ok {
		t.Error("outbox gauges served while the outbox could not be read")
	}
	// The handler counts a failed gathering after it; the next scrape has it.
	if v := metricstest.Get(t, m).Value(t, "promhttp_metric_handler_errors_total", "cause", "gathering"); v != 1 {
		t.Errorf("gathering errors = %v, want 1", v)
	}
}
