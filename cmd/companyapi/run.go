package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: companyapi [command]

commands:
  serve            run the API server (default)
  migrate          apply pending database migrations
  migrate status   list applied and pending migrations
  mail status      the mail outbox: mails waiting, and mails given up with their last error
  version          print the version

configuration comes from the environment; see README.md.
`

// usageError exits with code 2, as a bad command line or environment does.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// run is the whole program, callable from tests with their own environment
// and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch {
	case cmd == "version" && len(args) == 0:
		fmt.Fprintln(stdout, "companyapi", version)
		return nil
	case cmd == "serve" && len(args) == 0:
		return serve(ctx, getenv, stdout, stderr)
	case cmd == "migrate" && len(args) == 0:
		return migrateCmd(ctx, getenv, stdout, stderr, false)
	case cmd == "migrate" && len(args) == 1 && args[0] == "status":
		return migrateCmd(ctx, getenv, stdout, stderr, true)
	case cmd == "mail" && len(args) == 1 && args[0] == "status":
		return mailStatus(ctx, getenv, stdout)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return &usageError{msg: fmt.Sprintf("unknown command %q", cmd)}
	}
}

// exitCode prints err and returns the process exit code: 2 for usage and
// configuration mistakes, 1 for everything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "companyapi:", err)
	var ue *usageError
	if errors.As(err, &ue) || config.IsConfigError(err) {
		return 2
	}
	return 1
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.Dev() {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	return store.Open(ctx, cfg.DatabaseURL, store.Options{ConnectTimeout: cfg.DBConnectWait, MaxOpenConns: cfg.DBMaxConns})
}

// openStoreFromEnv is openStore for the commands that need only the
// store: the settings, then the database.
func openStoreFromEnv(ctx context.Context, getenv func(string) string) (*store.Store, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg)
}

func migrateCmd(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, status bool) error {
	st, err := openStoreFromEnv(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	if status {
		revs, err := st.Status(ctx)
		if err != nil {
			return err
		}
		for _, r := range revs {
			state := "pending"
			if r.Applied {
				state = "applied " + r.AppliedAt.Format("2006-01-02 15:04:05Z07:00")
			}
			fmt.Fprintf(stdout, "%s_%s\t%s\n", r.Version, r.Description, state)
		}
		return nil
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintln(stdout, "applied", v)
	}
	return nil
}
