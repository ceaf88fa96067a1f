package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/connlimit"
	"github.com/companyapi/companyapi/internal/httpapi"
	"github.com/companyapi/companyapi/internal/ratelimit"
)

// serve runs the API until ctx ends, then shuts down each part in turn,
// each on its own budget (see shutdown).
func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if cfg.RandomSecret {
		log.Warn("JWT_SECRET is unset: tokens are signed with a random key and end when this process does")
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.MigrateOnStart {
		applied, err := st.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if len(applied) > 0 {
			log.Info("migrations applied", "versions", applied)
		}
	}

	m := newMetrics(cfg, st)
	mailer, mailbox, err := newMailer(cfg, st)
	if err != nil {
		return err
	}
	hasher := auth.NewHasher(auth.DefaultArgon2, 0)
	tokens := auth.NewTokens(cfg.JWTSecret, cfg.TokenTTL)
	accountMails, err := chat.NewAccountMails(chat.AccountMailsConfig{
		Client: st.Client, Hasher: hasher, GeneratePassword: auth.GeneratePassword, From: cfg.MailFrom, ResetTTL: cfg.PasswordResetTTL,
	})
	if err != nil {
		return err
	}
	mails, err := newOutbox(cfg, st, mailer, accountMails, log, m)
	if err != nil {
		return err
	}
	bus, closeBroker, err := newBus(ctx, cfg, log, m)
	if err != nil {
		return err
	}
	defer closeBroker()
	svc, err := chat.New(chat.Config{
		Client: st.Client, DB: st.DB, Dialect: st.Dialect, Hasher: hasher, Outbox: mails,
		Events: bus, Logger: log, SendTimeout: cfg.SendTimeout, RegistrationDomains: cfg.RegistrationDomains,
		SendRate: cfg.SendRate, SendBurst: cfg.SendBurst, Metrics: m,
	})
	if err != nil {
		return err
	}
	normalizeEmails(ctx, svc, log)
	var limiter httpapi.Limiter
	var buckets *ratelimit.Limiter
	if cfg.RateLimitLogin > 0 {
		buckets = ratelimit.New(st.Client, st.Dialect, cfg.RateLimitLogin)
		limiter = buckets
	}
	authn := &auth.Authenticator{Tokens: tokens, Accounts: svc}
	sockets, err := newSockets(cfg, authn, svc, bus, log, m)
	if err != nil {
		return err
	}
	watch(m, sockets, bus, mails)
	if err := bus.Start(); err != nil {
		return err
	}
	e, err := httpapi.New(httpapi.Config{
		Chat: svc, Auth: authn, Tokens: tokens, DB: st, Logger: log,
		Mailbox: mailbox, Socket: sockets, LongPoll: sockets.LongPoll(), RateLimit: limiter,
		TrustedProxies: cfg.TrustedProxies, RequestTimeout: cfg.SendTimeout, Broker: bus.Connected,
		AllowedOrigins: cfg.AllowedOrigins, Metrics: m,
	})
	if err != nil {
		return err
	}

	admin, adminAddr, err := startAdmin(cfg, m, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		return fmt.Errorf("listen on ADDR %s: %w", cfg.Addr, err)
	}
	// Each client address may hold only so many connections, so that one
	// (a flood of slow bodies, say) cannot take every file descriptor.
	ln = connlimit.New(ln, connlimit.Config{PerAddr: cfg.MaxConnsPerIP, Exempt: cfg.TrustedProxies, Logger: log})
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		// A request's body must arrive within this; a socket's connection
		// is hijacked before, and sets its own deadlines.
		ReadTimeout:  30 * time.Second,
		WriteTimeout: cfg.SendTimeout + 20*time.Second,
		IdleTimeout:  time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	mailCtx, stopMails := context.WithCancel(context.WithoutCancel(ctx))
	mailsDone := make(chan struct{})
	go func() {
		defer close(mailsDone)
		mails.Run(mailCtx)
	}()
	go housekeeping(ctx, svc, buckets, log)
	if admin != nil {
		// Before the public line, which tests and tools wait for.
		fmt.Fprintf(stdout, "companyapi admin on http://%s (/metrics, /debug/pprof/)\n", adminAddr)
		log.Info("admin listening", "addr", adminAddr.String())
	}
	fmt.Fprintf(stdout, "companyapi listening on http://%s (%s, %s store, %s broker, node %s)\n", ln.Addr(), cfg.Env, st.Dialect, cfg.BrokerURL, cfg.NodeName)
	log.Info("listening", "addr", ln.Addr().String(), "env", cfg.Env, "store", st.Dialect, "broker", cfg.BrokerURL, "node", cfg.NodeName)

	var serveErr error
	select {
	case err := <-served:
		serveErr = fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	// Every send accepted is answered before its socket or connection
	// closes; a part that overruns its budget is logged and left behind.
	shutdown(log, []stopStep{
		// Sockets first: http.Server.Shutdown does not see hijacked
		// connections, and clients should hear 1001 and reconnect elsewhere.
		{"sockets", cfg.SendTimeout + 2*time.Second, sockets.Shutdown},
		{"http", cfg.SendTimeout + 2*time.Second, func(ctx context.Context) error {
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}},
		{"message writer", cfg.SendTimeout + 2*time.Second, func(context.Context) error {
			svc.Close()
			return nil
		}},
		// What the last commits announced reaches the other nodes.
		{"events", 3 * time.Second, bus.Close},
		{"broker", 3 * time.Second, func(context.Context) error {
			closeBroker()
			return nil
		}},
		// A mail being sent is cancelled and released for the next try,
		// here or on another node.
		{"mail outbox", 5 * time.Second, func(ctx context.Context) error {
			stopMails()
			select {
			case <-mailsDone:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
		// Last, so that the metrics of the shutdown can still be scraped.
		{"admin", 2 * time.Second, func(ctx context.Context) error {
			if admin == nil {
				return nil
			}
			return admin.Shutdown(ctx)
		}},
	})
	return serveErr
}

// stopStep is one part of shutdown and its budget.
type stopStep struct {
	name   string
	budget time.Duration
	stop   func(context.Context) error
}

// shutdown stops each part in order, each bounded by its own budget, and
// logs what failed or ran out of time. A step that overruns is not waited
// for: the process is exiting.
func shutdown(log *slog.Logger, steps []stopStep) {
	for _, s := range steps {
		ctx, cancel := context.WithTimeout(context.Background(), s.budget)
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- s.stop(ctx) }()
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			err = fmt.Errorf("did not finish within %v", s.budget)
		}
		cancel()
		if err != nil {
			log.Error("shutdown: "+s.name, "err", err, "took", time.Since(start).Round(time.Millisecond))
		} else {
			log.Debug("shutdown: "+s.name+" done", "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// housekeeping deletes, every hour, revocations of expired tokens, expired
// password reset tokens and rate-limit buckets nobody used for longer than
// a refill.
func housekeeping(ctx context.Context, svc *chat.Service, buckets *ratelimit.Limiter, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := svc.PurgeRevokedTokens(ctx); err != nil && ctx.Err() == nil {
			log.Warn("purge revoked tokens", "err", err)
		} else if n > 0 {
			log.Info("purged revoked tokens", "count", n)
		}
		if _, err := svc.PurgePasswordResets(ctx); err != nil && ctx.Err() == nil {
			log.Warn("purge expired password reset tokens", "err", err)
		}
		if buckets != nil {
			if _, err := buckets.Purge(ctx); err != nil && ctx.Err() == nil {
				log.Warn("purge rate-limit buckets", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// normalizeEmails rewrites the emails earlier versions stored in today's
// normal form, and names the accounts that two look-alike addresses made
// (an operator decides which the person keeps). A failure is only logged:
// the accounts concerned keep working with the address as stored.
func normalizeEmails(ctx context.Context, svc *chat.Service, log *slog.Logger) {
	n, conflicts, err := svc.NormalizeStoredEmails(ctx)
	if err != nil {
		log.Warn("normalizing stored emails", "err", err)
	}
	if n > 0 {
		log.Info("stored emails normalized", "count", n)
	}
	for _, c := range conflicts {
		log.Warn("an account's email, normalized, is another account's: resolve by hand", "user", c.UserID, "email", c.Email, "normal_form", c.Normal)
	}
}
