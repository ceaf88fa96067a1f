package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/outboxmail"
	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/mail"
	"github.com/companyapi/companyapi/internal/outbox"
	"github.com/companyapi/companyapi/internal/smtptest"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

var fastArgon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// fixture is a chat service and what its outbox needs, over one store.
type fixture struct {
	st     *store.Store
	svc    *chat.Service
	hasher *auth.Hasher
	prep   *chat.AccountMails
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	h := auth.NewHasher(fastArgon2, 0)
	svc, err := chat.New(chat.Config{Client: st.Client, DB: st.DB, Dialect: st.Dialect, Hasher: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	prep, err := chat.NewAccountMails(chat.AccountMailsConfig{Client: st.Client, Hasher: h, GeneratePassword: auth.GeneratePassword, From: "chat@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, svc: svc, hasher: h, prep: prep}
}

func (f *fixture) worker(t *testing.T, m mail.Mailer, change func(*outbox.Config)) *outbox.Worker {
	t.Helper()
	cfg := outbox.Config{Client: f.st.Client, Dialect: f.st.Dialect, Mailer: m, Prepare: f.prep,
		Logger: slog.New(slog.DiscardHandler), Poll: 20 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	if change != nil {
		change(&cfg)
	}
	w, err := outbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (f *fixture) register(t *testing.T, n int) []string {
	t.Helper()
	var emails []string
	for i := range n {
		email := fmt.Sprintf("u%d@example.com", i)
		if _, err := f.svc.Register(context.Background(), chat.Registration{Name: "n", Subname: "s", Email: email, Job: "j"}); err != nil {
			t.Fatal(err)
		}
		emails = append(emails, email)
	}
	return emails
}

func smtpMailer(t *testing.T, s *smtptest.Server) mail.Mailer {
	t.Helper()
	cfg, err := mail.ParseSMTPURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 2 * time.Second
	m, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run starts w until the test ends.
func run(t *testing.T, w *outbox.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestOutboxSendsEachMailOnce runs three senders on one store, as three
// nodes would: every welcome mail reaches the SMTP server exactly once, and
// the password it carries logs in.
func TestOutboxSendsEachMailOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		srv := smtptest.Start(t)
		emails := f.register(t, 30)
		for range 3 {
			run(t, f.worker(t, smtpMailer(t, srv), nil))
		}
		mails := srv.WaitFor(t, len(emails), 30*time.Second)
		waitPending(t, st, 0)
		if len(srv.Mails()) != len(emails) {
			t.Fatalf("%d mails for %d accounts: some were sent twice", len(srv.Mails()), len(emails))
		}
		seen := map[string]bool{}
		for _, m := range mails {
			if seen[m.Recipient()] {
				t.Fatalf("%s got two welcome mails", m.Recipient())
			}
			seen[m.Recipient()] = true
		}
		m := mails[0]
		if _, err := f.svc.Login(context.Background(), m.Recipient(), m.Password()); err != nil {
			t.Fatalf("login with the mailed password: %v", err)
		}
	})
}

// TestOutboxRetriesUntilTheServerIsBack reproduces the lost mails found with
// SMTP down for 35 s (dropped after 5 tries): every mail waits for the
// server, however many tries it takes.
func TestOutboxRetriesUntilTheServerIsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		srv := smtptest.Start(t)
		srv.Stop(t)
		emails := f.register(t, 5)
		run(t, f.worker(t, smtpMailer(t, srv), nil))
		// Enough failed tries that the old queue would have dropped them.
		waitFor(t, func() bool {
			return st.Client.OutboxMail.Query().Where(outboxmail.AttemptsGTE(6)).CountX(context.Background()) == len(emails)
		})
		if n := st.Client.OutboxMail.Query().Where(outboxmail.FailedAtNotNil()).CountX(context.Background()); n != 0 {
			t.Fatalf("%d mails given up while the server was down", n)
		}
		srv.Restart(t)
		srv.WaitFor(t, len(emails), 30*time.Second)
		waitPending(t, st, 0)
	})
}

// TestOutboxGivesUpAfterRetryFor: a mail failing for longer than RetryFor
// is marked failed with its last error, never silently dropped.
func TestOutboxGivesUpAfterRetryFor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		srv := smtptest.Start(t)
		srv.Stop(t)
		f.register(t, 1)
		var clock atomic.Int64
		clock.Store(time.Now().UnixNano())
		w := f.worker(t, smtpMailer(t, srv), func(c *outbox.Config) {
			c.RetryFor = time.Hour
			c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		})
		ctx := context.Background()
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		row := st.Client.OutboxMail.Query().OnlyX(ctx)
		if row.FailedAt != nil || row.LastError == nil || row.Attempts != 1 {
			t.Fatalf("after one failure: %+v, want pending with its error", row)
		}
		clock.Add(int64(2 * time.Hour))
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		row = st.Client.OutboxMail.Query().OnlyX(ctx)
		if row.FailedAt == nil || row.LastError == nil {
			t.Fatalf("after RetryFor: %+v, want failed with its error", row)
		}
		stats, err := w.Stats(ctx)
		if err != nil || stats.Failed != 1 || stats.Pending != 0 {
			t.Fatalf("stats %+v (%v), want 1 failed", stats, err)
		}
	})
}

// blockingMailer holds every send until its context ends.
type blockingMailer struct{ started chan struct{} }

func (b *blockingMailer) Send(ctx context.Context, _ mail.Mail) error {
	b.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// TestOutboxReleasesMailsOnStop: a send cut short by shutdown does not
// count as a try, and the mail is free at once for the next sender.
func TestOutboxReleasesMailsOnStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		f.register(t, 1)
		b := &blockingMailer{started: make(chan struct{}, 1)}
		w := f.worker(t, b, func(c *outbox.Config) { c.Workers = 1 })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		<-b.started
		cancel()
		<-done
		row := st.Client.OutboxMail.Query().OnlyX(context.Background())
		if row.ClaimedUntil != nil || row.SentAt != nil || row.Attempts != 0 {
			t.Fatalf("after stopping mid-send: %+v, want released, unsent, no try counted", row)
		}
		srv := smtptest.Start(t)
		if err := f.worker(t, smtpMailer(t, srv), nil).Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(t, 1, 10*time.Second)
	})
}

// TestOutboxTakesOverAnExpiredLease: a mail claimed by a sender that died
// (its lease ran out) is sent by another.
func TestOutboxTakesOverAnExpiredLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		f.register(t, 2)
		ctx := context.Background()
		past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
		rows := st.Client.OutboxMail.Query().Order(ent.Asc(outboxmail.FieldID)).AllX(ctx)
		st.Client.OutboxMail.UpdateOne(rows[0]).SetClaimedUntil(past).ExecX(ctx)
		st.Client.OutboxMail.UpdateOne(rows[1]).SetClaimedUntil(future).ExecX(ctx)
		srv := smtptest.Start(t)
		if err := f.worker(t, smtpMailer(t, srv), nil).Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got := srv.WaitFor(t, 1, 10*time.Second)
		if len(got) != 1 || got[0].Recipient() != rows[0].To {
			t.Fatalf("sent %v, want only the mail whose lease ran out (%s)", got, rows[0].To)
		}
	})
}

// capture remembers the last row it was given to prepare.
type capture struct {
	outbox.Preparer
	row *ent.OutboxMail
}

func (c *capture) PrepareMail(ctx context.Context, row *ent.OutboxMail) (mail.Mail, bool, error) {
	c.row = row
	return c.Preparer.PrepareMail(ctx, row)
}

// TestOutboxClaimHandsBackTheRow: the claim returns the mail it took in the
// same statement. Before, a second read fetched it, and when that read
// failed (a connection lost just after the claim) the mail waited out its
// 2-minute lease. Here every later read of the outbox fails, on a client
// over the same store: the claimed mail is sent all the same.
func TestOutboxClaimHandsBackTheRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		f.register(t, 1)
		ctx := context.Background()
		drv := dialect.Postgres
		if st.Dialect == store.SQLite {
			drv = dialect.SQLite
		}
		// Not closed: it shares st's pool, which st closes.
		failing := ent.NewClient(ent.Driver(entsql.OpenDB(drv, st.DB)))
		failing.OutboxMail.Intercept(ent.InterceptFunc(func(ent.Querier) ent.Querier {
			return ent.QuerierFunc(func(context.Context, ent.Query) (ent.Value, error) {
				return nil, errors.New("connection lost")
			})
		}))
		queued := st.Client.OutboxMail.Query().OnlyX(ctx)
		srv := smtptest.Start(t)
		prep := &capture{Preparer: f.prep}
		w := f.worker(t, smtpMailer(t, srv), func(c *outbox.Config) { c.Client, c.Prepare = failing, prep })
		if err := w.Flush(ctx); err != nil {
			t.Fatalf("flush: %v", err)
		}
		srv.WaitFor(t, 1, 10*time.Second)
		// The preparer got the row as the claim left it.
		got := prep.row
		if got == nil || got.ID != queued.ID || got.Kind != queued.Kind || got.UserID != queued.UserID || got.To != queued.To ||
			!got.CreatedAt.Equal(queued.CreatedAt) || !got.NextAttemptAt.Equal(queued.NextAttemptAt) || got.Attempts != 1 ||
			got.ClaimedUntil == nil || got.SentAt != nil || got.FailedAt != nil || got.LastError != nil {
			t.Fatalf("claimed row %v, want %v with one try and a lease", got, queued)
		}
		row := st.Client.OutboxMail.Query().OnlyX(ctx)
		if row.SentAt == nil || row.ClaimedUntil != nil || row.Attempts != 1 {
			t.Fatalf("after the send: %+v, want sent, released, one try", row)
		}
	})
}

// TestWelcomeMails: a retried welcome mail carries a new password and only
// the last one sent works; once the user has chosen a password, a late
// welcome mail is not sent at all.
func TestWelcomeMails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := context.Background()
		f.register(t, 1)
		row := st.Client.OutboxMail.Query().OnlyX(ctx)
		first, send, err := f.prep.PrepareMail(ctx, row)
		if err != nil || !send {
			t.Fatal(send, err)
		}
		second, _, err := f.prep.PrepareMail(ctx, row)
		if err != nil {
			t.Fatal(err)
		}
		p1, p2 := smtptest.Mail{Data: first.Text}.Password(), smtptest.Mail{Data: second.Text}.Password()
		if p1 == "" || p1 == p2 {
			t.Fatalf("passwords %q and %q: want two different ones", p1, p2)
		}
		if _, err := f.svc.Login(ctx, row.To, p1); err == nil {
			t.Fatal("the first mail's password still works after a retry")
		}
		u, err := f.svc.Login(ctx, row.To, p2)
		if err != nil {
			t.Fatalf("the last mail's password: %v", err)
		}
		if _, err := f.svc.ChangePassword(ctx, u.ID, p2, "my own password 1"); err != nil {
			t.Fatal(err)
		}
		if _, send, err := f.prep.PrepareMail(ctx, row); err != nil || send {
			t.Fatalf("welcome mail after the user chose a password: send %v, %v; want not sent", send, err)
		}
		if _, err := f.svc.Login(ctx, row.To, "my own password 1"); err != nil {
			t.Fatalf("a late welcome mail replaced the user's password: %v", err)
		}
	})
}

// TestDevMailStoreKeepsNewest: the dev mailbox in the database keeps the
// newest mails, newest first.
func TestDevMailStoreKeepsNewest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		box := mail.NewMailbox(outbox.DevMailStore{Client: st.Client}, 3)
		ctx := context.Background()
		for i := 1; i <= 5; i++ {
			if err := box.Send(ctx, mail.Mail{To: "a@example.com", Subject: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		all, err := box.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var subjects []string
		for _, m := range all {
			subjects = append(subjects, m.Subject)
		}
		if fmt.Sprint(subjects) != "[5 4 3]" {
			t.Fatalf("kept %v, want [5 4 3]", subjects)
		}
		if n := st.Client.DevMail.Query().CountX(ctx); n != 3 {
			t.Fatalf("%d rows kept, want 3", n)
		}
	})
}

func waitPending(t *testing.T, st *store.Store, want int) {
	t.Helper()
	waitFor(t, func() bool {
		return st.Client.OutboxMail.Query().Where(outboxmail.SentAtIsNil(), outboxmail.FailedAtIsNil()).CountX(context.Background()) == want
	})
}

// waitFor polls cond for up to 30 s: the senders run on their own.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 30 s")
}
