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
	"github.com/companyapi/companyapi/internal/httpapi"
)

// serve runs the API until ctx ends, then shuts down each part on its own
// deadline: sockets, HTTP, the message writer, the mail queue, the store.
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
	mailer, err := newMailer(cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		mctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := mailer.Close(mctx); err != nil {
			log.Warn("mail queue closed with mails unsent", "err", err)
		}
	}()

	hasher := auth.NewHasher(auth.DefaultArgon2, 0)
	tokens := auth.NewTokens(cfg.JWTSecret, cfg.TokenTTL)
	svc, err := chat.New(chat.Config{
		Client: st.Client, DB: st.DB, Dialect: st.Dialect, Hasher: hasher, Mailer: mailer,
		Logger: log, GeneratePassword: auth.GeneratePassword,
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	authn := &auth.Authenticator{Tokens: tokens, Accounts: svc}
	sockets, err := newSockets(cfg, authn, svc, log)
	if err != nil {
		return err
	}
	e, err := httpapi.New(httpapi.Config{
		Chat: svc, Auth: authn, Tokens: tokens, DB: st, Logger: log,
		Mailbox: mailer.Mailbox(), Socket: sockets, RateLimitLogin: cfg.RateLimitLogin,
		TrustedProxies: cfg.TrustedProxies, OnLogout: sockets.DisconnectToken,
		OnPasswordChange: sockets.DisconnectUser,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on ADDR %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "companyapi listening on http://%s (%s, %s store)\n", ln.Addr(), cfg.Env, st.Dialect)
	log.Info("listening", "addr", ln.Addr().String(), "env", cfg.Env, "store", st.Dialect)

	go purgeRevokedTokens(ctx, svc, log)

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Sockets first: http.Server.Shutdown does not see hijacked
	// connections, and clients should hear 1001 and reconnect elsewhere.
	if sockets != nil {
		sockets.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	return nil
}

// purgeRevokedTokens deletes revocations of expired tokens every hour.
func purgeRevokedTokens(ctx context.Context, svc *chat.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := svc.PurgeRevokedTokens(ctx); err != nil && ctx.Err() == nil {
			log.Warn("purge revoked tokens", "err", err)
		} else if n > 0 {
			log.Info("purged revoked tokens", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
