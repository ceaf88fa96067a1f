package events

import (
	"context"
	"log/slog"
	"testing"

	"github.com/companyapi/companyapi/internal/broker"
	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/metrics/metricstest"
)

// observedNode is node with its own metrics.
func observedNode(t *testing.T, name string, b broker.Broker, queue int) (*Bus, *sub, *metrics.Metrics) {
	t.Helper()
	m := metrics.New("test")
	bus := New(Config{Node: name, Broker: b, Logger: slog.New(slog.DiscardHandler), Queue: queue, Metrics: m})
	s := &sub{}
	bus.Subscribe(s)
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	return bus, s, m
}

// TestBusObserved: the announcing node counts what it published and how
// long each payload took from the announcement; the receiving node counts
// what it received and the lag since the announcement on the other node.
func TestBusObserved(t *testing.T) {
	brk := broker.NewLocal()
	a, _, ma := observedNode(t, "a", brk, 0)
	_, sb, mb := observedNode(t, "b", brk, 0)
	a.Announce(msg(1, "hi"))
	waitFor(t, "the other node", func() bool { got, _ := sb.snapshot(); return len(got) == 1 })
	a.Announce(msg(2, "again"))
	waitFor(t, "the other node", func() bool { got, _ := sb.snapshot(); return len(got) == 2 })

	sa, sbm := metricstest.Get(t, ma), metricstest.Get(t, mb)
	if v := sa.Value(t, "companyapi_broker_published_payloads_total", "result", "ok"); v != 2 {
		t.Errorf("a published %v payloads, want 2", v)
	}
	if v := sa.Value(t, "companyapi_broker_publish_lag_seconds"); v != 2 {
		t.Errorf("a timed %v publishes, want 2", v)
	}
	if v := sbm.Value(t, "companyapi_broker_received_payloads_total"); v != 2 {
		t.Errorf("b received %v payloads, want 2", v)
	}
	lags, sum := sbm.Value(t, "companyapi_broker_delivery_lag_seconds"), sbm.Sum(t, "companyapi_broker_delivery_lag_seconds")
	if lags != 2 || sum <= 0 || sum > 10 {
		t.Errorf("b observed %v delivery lags summing to %vs, want 2 that took some time", lags, sum)
	}
	// A node does not receive its own payloads from the broker.
	if v := sa.Value(t, "companyapi_broker_received_payloads_total"); v != 0 {
		t.Errorf("a received %v of its own payloads", v)
	}
}

// TestLossObserved: batches the full queue could not take are counted on
// the announcing node; the other node counts the gap and its resync.
func TestLossObserved(t *testing.T) {
	brk := &stuck{entered: make(chan struct{}, 1), release: make(chan struct{})}
	a, _, ma := observedNode(t, "a", brk, 4)
	_, sb, mb := observedNode(t, "b", &brk.Local, 0)
	a.Announce(msg(1, "first"))
	<-brk.entered // the publisher is stuck in the broker: what follows overflows the queue
	for i := range 20 {
		a.Announce(msg(i+2, "x"))
	}
	close(brk.release)
	a.Announce(msg(100, "after"))
	waitFor(t, "the other node to resync", func() bool { _, r := sb.snapshot(); return r > 0 })
	if v := metricstest.Get(t, ma).Value(t, "companyapi_broker_dropped_batches_total"); v < 1 {
		t.Errorf("a dropped %v batches with a full queue, want some", v)
	}
	s := metricstest.Get(t, mb)
	if g, r := s.Value(t, "companyapi_broker_sequence_gaps_total"), s.Value(t, "companyapi_broker_resyncs_total"); g < 1 || r < 1 {
		t.Errorf("b counted %v gaps and %v resyncs, want at least one each", g, r)
	}
}
