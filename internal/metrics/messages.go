package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SendOK is the result of a send that was committed; others are the chat
// error kind's word ("invalid", "not found", "unavailable", ...).
const SendOK = "ok"

// sendResults maps a send's result to its label value; a result not
// listed counts as "internal".
var sendResults = map[string]string{SendOK: "ok", "invalid": "invalid", "not found": "not_found",
	"unauthenticated": "unauthenticated", "forbidden": "forbidden", "conflict": "conflict",
	"unavailable": "unavailable", "internal error": "internal"}

type messageMetrics struct {
	committed   prometheus.Counter
	batchSize   prometheus.Histogram
	commit      prometheus.Histogram
	failures    prometheus.Counter
	lockWaits   prometheus.Counter
	sendByState map[string]prometheus.Observer
}

func newMessageMetrics(reg prometheus.Registerer) messageMetrics {
	send := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "message_send_duration_seconds",
		Help: "Time from a send's arrival at the chat service to its answer (committed, or refused), by result: " +
			"ok, or the error's kind (invalid, not_found, unavailable, ...).",
		Buckets: latencyBuckets,
	}, []string{"result"})
	reg.MustRegister(send)
	byState := make(map[string]prometheus.Observer, len(sendResults))
	for result, label := range sendResults {
		byState[result] = send.WithLabelValues(label)
	}
	return messageMetrics{
		committed: counter(reg, "messages_committed_total", "Messages committed by the group commit (repeats not counted)."),
		batchSize: histogram(reg, "message_batch_size", "Messages written by one group-commit statement.",
			prometheus.ExponentialBuckets(1, 2, 9)), // 1 … 256, the default MaxBatch
		commit: histogram(reg, "message_commit_duration_seconds",
			"Time one group-commit statement took, from start to commit (or failure).", latencyBuckets),
		failures: counter(reg, "message_commit_failures_total",
			"Group-commit statements that failed; their senders were answered with the error."),
		lockWaits: counter(reg, "message_lock_waits_total",
			"Messages put back to wait because another transaction held their conversation's row."),
		sendByState: byState,
	}
}

// Commit records one group-commit statement: how many messages it carried,
// how many of them were committed, how many waited for a locked row, how
// long it took and whether it failed.
func (m *Metrics) Commit(batch, committed, waiting int, d time.Duration, failed bool) {
	if m == nil {
		return
	}
	mm := &m.messages
	mm.batchSize.Observe(float64(batch))
	mm.commit.Observe(d.Seconds())
	if failed {
		mm.failures.Inc()
	}
	mm.committed.Add(float64(committed))
	mm.lockWaits.Add(float64(waiting))
}

// Send records one SendMessage: its result (SendOK or the error's word)
// and how long the sender waited.
func (m *Metrics) Send(result string, d time.Duration) {
	if m == nil {
		return
	}
	o, ok := m.messages.sendByState[result]
	if !ok {
		o = m.messages.sendByState["internal error"]
	}
	o.Observe(d.Seconds())
}
