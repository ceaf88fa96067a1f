// Package outbox sends the mails queued in the database's outbox_mails
// table. A request that causes a mail (a registration) writes its row in the
// same transaction as the rest, so the mail is neither lost when the
// process stops or crashes nor sent for something that was rolled back.
// Senders on every node claim rows with a lease (FOR UPDATE SKIP LOCKED on
// PostgreSQL), so each mail is sent by one of them, and retry with an
// exponential backoff for RetryFor before giving a mail up.
//
// Delivery is at least once: a sender that dies after the mail server
// accepted a mail but before it recorded that, sends it again once its
// lease runs out.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/outboxmail"
	"github.com/companyapi/companyapi/internal/mail"
	"github.com/companyapi/companyapi/internal/metrics"
)

// Preparer turns a claimed row into the mail to send, making the secret it
// carries (a password, a reset token) and storing only its hash. send is
// false when there is nothing to send any more (the user has chosen a
// password meanwhile): the row is then closed as sent. The row comes from
// the claim, not from an Ent query, so it is not bound to a client.
type Preparer interface {
	PrepareMail(ctx context.Context, row *ent.OutboxMail) (m mail.Mail, send bool, err error)
}

// Config sets up a Worker; zero fields take the defaults.
type Config struct {
	Client  *ent.Client
	Dialect string // "sqlite" or "postgres"
	Mailer  mail.Mailer
	Prepare Preparer
	Logger  *slog.Logger
	// RetryFor is how long a mail is retried before it is given up;
	// default 24 h.
	RetryFor time.Duration
	// MinBackoff is the wait after the first failure, doubled after each
	// later one up to MaxBackoff; defaults 2 s and 1 min.
	MinBackoff, MaxBackoff time.Duration
	// Lease is how long a claimed mail is its sender's; another node takes
	// it over after that. Default 2 min, far longer than a send may take.
	Lease time.Duration
	// SendTimeout bounds one attempt; default 30 s.
	SendTimeout time.Duration
	// Poll is how often the outbox is read when nothing woke the worker
	// (mails queued by other nodes, retries coming due); default 1 s.
	Poll time.Duration
	// Workers is how many mails this node sends at once; default 2.
	Workers int
	// Metrics counts each attempt's outcome; nil counts nothing.
	Metrics *metrics.Metrics
	Now     func() time.Time
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RetryFor, 24*time.Hour)
	def(&c.MinBackoff, 2*time.Second)
	def(&c.MaxBackoff, time.Minute)
	def(&c.Lease, 2*time.Minute)
	def(&c.SendTimeout, 30*time.Second)
	def(&c.Poll, time.Second)
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Worker sends the outbox's mails until its context ends.
type Worker struct {
	cfg      Config
	claimSQL string
	wake     chan struct{}
}

// New returns a Worker; Run starts it.
func New(cfg Config) (*Worker, error) {
	if cfg.Client == nil || cfg.Mailer == nil || cfg.Prepare == nil {
		return nil, errors.New("outbox: Client, Mailer and Prepare are required")
	}
	cfg.setDefaults()
	w := &Worker{cfg: cfg, claimSQL: claimSQLite, wake: make(chan struct{}, 1)}
	if cfg.Dialect == "postgres" {
		w.claimSQL = claimPG
	}
	return w, nil
}

// Notify wakes a sender at once, after a mail was queued on this node.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sends mails until ctx ends, then returns once every send in flight
// has finished or been released for another try.
func (w *Worker) Run(ctx context.Context) {
	done := make(chan struct{})
	for range w.cfg.Workers {
		go func() {
			defer func() { done <- struct{}{} }()
			w.loop(ctx)
		}()
	}
	for range w.cfg.Workers {
		<-done
	}
}

func (w *Worker) loop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
		// Send until nothing is due, then wait for a wake-up or the poll.
		for ctx.Err() == nil {
			sent, err := w.sendOne(ctx)
			if err != nil && ctx.Err() == nil {
				w.cfg.Logger.Warn("outbox: claiming a mail", "err", err)
			}
			if !sent {
				break
			}
		}
		t.Reset(w.cfg.Poll)
	}
}

// Flush sends every mail due now, one after another, and returns when none
// is left or ctx ends; for tools and tests that need a mail sent before
// they go on.
func (w *Worker) Flush(ctx context.Context) error {
	for {
		sent, err := w.sendOne(ctx)
		if err != nil || !sent {
			return err
		}
	}
}

// claimPG takes the next due mail: not sent, not given up, its time come
// and nobody's lease on it. SKIP LOCKED lets other nodes' senders take
// other mails meanwhile instead of waiting. It returns the claimed row
// itself (claimColumns): a second read could fail after the claim, and the
// mail would then wait out its lease.
const claimPG = `UPDATE outbox_mails SET claimed_until = $1, attempts = attempts + 1
WHERE id = (
	SELECT id FROM outbox_mails
	WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
		AND (claimed_until IS NULL OR claimed_until < $2)
	ORDER BY next_attempt_at LIMIT 1
	FOR UPDATE SKIP LOCKED)
RETURNING ` + claimColumns

// claimSQLite is claimPG for one process: SQLite writers take turns.
const claimSQLite = `UPDATE outbox_mails SET claimed_until = ?, attempts = attempts + 1
WHERE id = (
	SELECT id FROM outbox_mails
	WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
		AND (claimed_until IS NULL OR claimed_until < ?)
	ORDER BY next_attempt_at LIMIT 1)
RETURNING ` + claimColumns

// claimColumns are the columns of an outbox row, in scanClaimed's order.
const claimColumns = `id, kind, user_id, "to", created_at, attempts, next_attempt_at, claimed_until, sent_at, failed_at, last_error`

// sendOne claims one due mail and tries it; sent reports whether there was
// one.
func (w *Worker) sendOne(ctx context.Context) (claimed bool, err error) {
	now := w.cfg.Now().UTC()
	args := []any{now.Add(w.cfg.Lease), now}
	if w.cfg.Dialect != "postgres" {
		args = append(args, now)
	}
	rows, err := w.cfg.Client.QueryContext(ctx, w.claimSQL, args...)
	if err != nil {
		return false, err
	}
	var row *ent.OutboxMail
	found := rows.Next()
	if found {
		row, err = scanClaimed(rows)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil || !found {
		// A claimed row that could not be read is left to its lease:
		// whether the claim committed is not known.
		return false, err
	}
	w.attempt(ctx, row)
	return true, nil
}

// scanClaimed reads a row of claimColumns. The row is read by the claim,
// not through an Ent query: it is not bound to a client, so its edges
// cannot be queried from it.
func scanClaimed(rows interface{ Scan(...any) error }) (*ent.OutboxMail, error) {
	var (
		m                     ent.OutboxMail
		kind                  string
		claimed, sent, failed sql.NullTime
		lastError             sql.NullString
	)
	if err := rows.Scan(&m.ID, &kind, &m.UserID, &m.To, &m.CreatedAt, &m.Attempts, &m.NextAttemptAt,
		&claimed, &sent, &failed, &lastError); err != nil {
		return nil, fmt.Errorf("outbox: reading a claimed mail: %w", err)
	}
	m.Kind = outboxmail.Kind(kind)
	for _, t := range []struct {
		dst **time.Time
		src sql.NullTime
	}{{&m.ClaimedUntil, claimed}, {&m.SentAt, sent}, {&m.FailedAt, failed}} {
		if t.src.Valid {
			*t.dst = &t.src.Time
		}
	}
	if lastError.Valid {
		m.LastError = &lastError.String
	}
	return &m, nil
}

// attempt prepares and sends one claimed mail and records the outcome.
func (w *Worker) attempt(ctx context.Context, row *ent.OutboxMail) {
	log := w.cfg.Logger.With("mail", row.ID, "kind", row.Kind, "to", row.To, "attempt", row.Attempts)
	sctx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	defer cancel()
	m, send, err := w.cfg.Prepare.PrepareMail(sctx, row)
	if err == nil && send {
		err = w.cfg.Mailer.Send(sctx, m)
	}
	// Recording the outcome must happen even when ctx ended (shutdown): a
	// mail released now is retried at once by whichever node is left.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	now := w.cfg.Now().UTC()
	upd := w.cfg.Client.OutboxMail.UpdateOneID(row.ID).ClearClaimedUntil()
	switch {
	case err == nil:
		upd.SetSentAt(now).ClearLastError()
		w.cfg.Metrics.MailAttempt(metrics.MailSent)
		if !send {
			log.Info("outbox: mail no longer needed")
		}
	case ctx.Err() != nil:
		// Stopped, not failed: this try does not count against the mail.
		upd.SetNextAttemptAt(now).AddAttempts(-1)
		w.cfg.Metrics.MailAttempt(metrics.MailReleased)
	case !mail.IsTransient(err) || now.Sub(row.CreatedAt) >= w.cfg.RetryFor:
		upd.SetFailedAt(now).SetLastError(truncate(err.Error()))
		w.cfg.Metrics.MailAttempt(metrics.MailGivenUp)
		log.Error("outbox: mail given up", "err", err, "transient", mail.IsTransient(err), "queued_for", now.Sub(row.CreatedAt).Round(time.Second))
	default:
		wait := mail.Backoff(w.cfg.MinBackoff, w.cfg.MaxBackoff, row.Attempts)
		upd.SetNextAttemptAt(now.Add(wait)).SetLastError(truncate(err.Error()))
		w.cfg.Metrics.MailAttempt(metrics.MailRetry)
		log.Warn("outbox: mail not sent, will retry", "err", err, "retry_in", wait)
	}
	if uerr := upd.Exec(rctx); uerr != nil {
		// The lease runs out and the mail is tried again.
		log.Error("outbox: recording a mail's outcome", "err", uerr, "send_err", err)
	}
}

func truncate(s string) string {
	if len(s) > 1000 {
		return s[:1000]
	}
	return s
}

// Stats is the state of the outbox, for operators.
type Stats struct {
	Pending int           // not sent yet, not given up
	Oldest  time.Duration // age of the oldest pending mail; 0 when none
	Failed  int           // given up
}

// MetricStats is Stats for internal/metrics' outbox gauges.
func (w *Worker) MetricStats(ctx context.Context) (metrics.OutboxStats, error) {
	s, err := w.Stats(ctx)
	return metrics.OutboxStats(s), err
}

// Stats reads the outbox's state.
func (w *Worker) Stats(ctx context.Context) (Stats, error) {
	s, _, err := report(ctx, w.cfg.Client, w.cfg.Now(), false)
	return s, err
}

// Failed is a mail given up.
type Failed struct {
	ID                  int
	Kind, To, LastError string
	Attempts            int
	CreatedAt, FailedAt time.Time
}

// Report reads the outbox's state and every mail given up (for operators:
// `companyapi mail status`).
func Report(ctx context.Context, client *ent.Client, now time.Time) (Stats, []Failed, error) {
	return report(ctx, client, now, true)
}

func report(ctx context.Context, client *ent.Client, now time.Time, list bool) (Stats, []Failed, error) {
	var s Stats
	pending := client.OutboxMail.Query().Where(outboxmail.SentAtIsNil(), outboxmail.FailedAtIsNil())
	n, err := pending.Clone().Count(ctx)
	if err != nil {
		return s, nil, err
	}
	s.Pending = n
	if n > 0 {
		oldest, err := pending.Order(ent.Asc(outboxmail.FieldCreatedAt)).First(ctx)
		if err != nil {
			return s, nil, fmt.Errorf("oldest pending mail: %w", err)
		}
		s.Oldest = now.Sub(oldest.CreatedAt)
	}
	failed := client.OutboxMail.Query().Where(outboxmail.FailedAtNotNil())
	if s.Failed, err = failed.Clone().Count(ctx); err != nil || !list {
		return s, nil, err
	}
	rows, err := failed.Order(ent.Asc(outboxmail.FieldID)).All(ctx)
	if err != nil {
		return s, nil, err
	}
	out := make([]Failed, len(rows))
	for i, r := range rows {
		out[i] = Failed{ID: r.ID, Kind: string(r.Kind), To: r.To, Attempts: r.Attempts, CreatedAt: r.CreatedAt, FailedAt: *r.FailedAt}
		if r.LastError != nil {
			out[i].LastError = *r.LastError
		}
	}
	return s, out, nil
}
