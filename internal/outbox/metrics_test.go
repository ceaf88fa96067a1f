package outbox_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/mail"
	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/metrics/metricstest"
	"github.com/companyapi/companyapi/internal/outbox"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// flakyMailer fails with a network error (transient) while down is set.
type flakyMailer struct{ down atomic.Bool }

func (f *flakyMailer) Send(context.Context, mail.Mail) error {
	if f.down.Load() {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// TestOutboxObserved: each attempt is counted by its outcome (retry, given
// up, sent, released by a stop), and the outbox's depth, the age of its
// oldest mail and the mails given up are read at each scrape.
func TestOutboxObserved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		m := metrics.New("test")
		mailer := &flakyMailer{}
		mailer.down.Store(true)
		var clock atomic.Int64
		clock.Store(time.Now().Add(time.Minute).UnixNano())
		w := f.worker(t, mailer, func(c *outbox.Config) {
			c.Metrics, c.RetryFor = m, time.Hour
			c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		})
		m.Outbox(w.MetricStats)
		n := 0
		register := func() {
			n++
			if _, err := f.svc.Register(ctx, chat.Registration{Name: "n", Subname: "s", Email: fmt.Sprintf("m%d@example.com", n), Job: "j"}); err != nil {
				t.Fatal(err)
			}
		}
		attempts := func(outcome string) float64 {
			return metricstest.Get(t, m).Value(t, "companyapi_outbox_attempts_total", "outcome", outcome)
		}

		register()
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		s := metricstest.Get(t, m)
		if v := s.Value(t, "companyapi_outbox_attempts_total", "outcome", metrics.MailRetry); v != 1 {
			t.Errorf("retries %v, want 1", v)
		}
		if p, age := s.Value(t, "companyapi_outbox_pending_mails"), s.Value(t, "companyapi_outbox_oldest_pending_age_seconds"); p != 1 || age < 50 || age > 120 {
			t.Errorf("pending %v, oldest %vs; want 1 about a minute old", p, age)
		}

		clock.Add(int64(2 * time.Hour)) // past RetryFor
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		s = metricstest.Get(t, m)
		if v := s.Value(t, "companyapi_outbox_attempts_total", "outcome", metrics.MailGivenUp); v != 1 {
			t.Errorf("given up %v, want 1", v)
		}
		if p, failed, age := s.Value(t, "companyapi_outbox_pending_mails"), s.Value(t, "companyapi_outbox_failed_mails"),
			s.Value(t, "companyapi_outbox_oldest_pending_age_seconds"); p != 0 || failed != 1 || age != 0 {
			t.Errorf("pending %v, failed %v, oldest %v; want 0, 1, 0", p, failed, age)
		}

		mailer.down.Store(false)
		register()
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if v := attempts(metrics.MailSent); v != 1 {
			t.Errorf("sent %v, want 1", v)
		}

		b := &blockingMailer{started: make(chan struct{}, 1)}
		stopping := f.worker(t, b, func(c *outbox.Config) { c.Metrics, c.Workers = m, 1 })
		register()
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); stopping.Run(runCtx) }()
		<-b.started
		cancel()
		<-done
		if v := attempts(metrics.MailReleased); v != 1 {
			t.Errorf("released %v, want 1", v)
		}
	})
}
