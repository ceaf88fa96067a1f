package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of one attempt at a mail, as label values.
const (
	MailSent     = "sent"     // accepted by the mail server (or no longer needed)
	MailRetry    = "retry"    // failed for now; tried again after a backoff
	MailGivenUp  = "given_up" // failed for good, or for longer than MAIL_RETRY_FOR
	MailReleased = "released" // interrupted by shutdown; not counted against the mail
)

type outboxMetrics struct {
	attempts map[string]prometheus.Counter
}

func newOutboxMetrics(reg prometheus.Registerer) outboxMetrics {
	return outboxMetrics{attempts: oneOf(counterVec(reg, "outbox_attempts_total",
		"Attempts at sending a mail of the outbox, by outcome: sent, retry, given_up, released.", "outcome"),
		MailSent, MailRetry, MailGivenUp, MailReleased)}
}

// MailAttempt counts one attempt's outcome (Mail*).
func (m *Metrics) MailAttempt(outcome string) {
	if m == nil {
		return
	}
	if c, ok := m.outbox.attempts[outcome]; ok {
		c.Inc()
	}
}

// OutboxStats is the state of the outbox table, shared by every node.
type OutboxStats struct {
	Pending int           // not sent yet, not given up
	Oldest  time.Duration // age of the oldest pending mail; 0 when none
	Failed  int           // given up
}

// Outbox reports the outbox's state, read by stats at each scrape within
// a second; a scrape that cannot read it leaves the three gauges out and
// counts an error in promhttp_metric_handler_errors_total.
func (m *Metrics) Outbox(stats func(context.Context) (OutboxStats, error)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&outboxCollector{stats: stats})
}

var (
	outboxPending = prometheus.NewDesc(namespace+"_outbox_pending_mails",
		"Mails in the outbox not sent yet (cluster-wide: every node reports the same table).", nil, nil)
	outboxOldest = prometheus.NewDesc(namespace+"_outbox_oldest_pending_age_seconds",
		"Age of the oldest mail not sent yet; 0 when none.", nil, nil)
	outboxFailed = prometheus.NewDesc(namespace+"_outbox_failed_mails",
		"Mails given up (cluster-wide), kept with their last error.", nil, nil)
)

type outboxCollector struct {
	stats func(context.Context) (OutboxStats, error)
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPending
	ch <- outboxOldest
	ch <- outboxFailed
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := c.stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxPending, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxPending, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(outboxOldest, prometheus.GaugeValue, s.Oldest.Seconds())
	ch <- prometheus.MustNewConstMetric(outboxFailed, prometheus.GaugeValue, float64(s.Failed))
}
