package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type eventMetrics struct {
	published    prometheus.Counter
	publishFails prometheus.Counter
	publishLag   prometheus.Histogram
	dropped      prometheus.Counter
	received     prometheus.Counter
	deliveryLag  prometheus.Histogram
	gaps         prometheus.Counter
	resyncs      prometheus.Counter
}

func newEventMetrics(reg prometheus.Registerer) eventMetrics {
	payloads := counterVec(reg, "broker_published_payloads_total",
		"Payloads of events this node published to the other nodes, by result: ok or error.", "result")
	return eventMetrics{
		published:    payloads.WithLabelValues("ok"),
		publishFails: payloads.WithLabelValues("error"),
		publishLag: histogram(reg, "broker_publish_lag_seconds",
			"Time from a commit's announcement to the broker accepting its payload (queue wait and publish).",
			latencyBuckets),
		dropped: counter(reg, "broker_dropped_batches_total",
			"Event batches never published because the publish queue was full; the other nodes resync."),
		received: counter(reg, "broker_received_payloads_total", "Payloads received from other nodes."),
		deliveryLag: histogram(reg, "broker_delivery_lag_seconds",
			"Time from a commit's announcement on another node to its delivery here (clocks of both nodes).",
			latencyBuckets),
		gaps: counter(reg, "broker_sequence_gaps_total",
			"Payloads from another node found missing by the gap in its sequence numbers."),
		resyncs: counter(reg, "broker_resyncs_total",
			"Times this node told its clients to recover from the database (a gap, or the broker reconnected)."),
	}
}

// Broker reports, at each scrape, whether this node can reach the other
// nodes (1; always 1 on a node without a broker).
func (m *Metrics) Broker(connected func() bool) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "broker_connected",
		Help: "1 while this node can publish to and receive from the other nodes, else 0."},
		func() float64 {
			if connected() {
				return 1
			}
			return 0
		}))
}

// Published records one payload handed to the broker: whether it was
// accepted, and how long since its oldest event was announced.
func (m *Metrics) Published(ok bool, lag time.Duration) {
	if m == nil {
		return
	}
	if !ok {
		m.events.publishFails.Inc()
		return
	}
	m.events.published.Inc()
	m.events.publishLag.Observe(lag.Seconds())
}

// DroppedBatch counts an event batch the full queue could not take.
func (m *Metrics) DroppedBatch() {
	if m != nil {
		m.events.dropped.Inc()
	}
}

// Received records a payload from another node and, when it carried the
// time its events were announced (known), the lag since then; a negative
// lag (the nodes' clocks apart) counts as 0.
func (m *Metrics) Received(lag time.Duration, known bool) {
	if m == nil {
		return
	}
	m.events.received.Inc()
	if known {
		m.events.deliveryLag.Observe(max(lag, 0).Seconds())
	}
}

// Gap counts payloads of another node found missing.
func (m *Metrics) Gap() {
	if m != nil {
		m.events.gaps.Inc()
	}
}

// Resync counts a resync of this node's clients.
func (m *Metrics) Resync() {
	if m != nil {
		m.events.resyncs.Inc()
	}
}
