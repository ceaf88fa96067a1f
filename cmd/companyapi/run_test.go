package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/apitest"
	"github.com/companyapi/companyapi/internal/storetest"
	"github.com/companyapi/companyapi/internal/testlog"
)

// client checks every answer against api/openapi.yaml: an answer the
// document does not describe is the request's error.
var client = &http.Client{Transport: apitest.Transport(nil)}

func envFunc(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb testlog.Buffer
	err := run(context.Background(), args, envFunc(env), &out, &errb)
	code = exitCode(err, &errb)
	return code, out.String(), errb.String()
}

func sqliteEnv(t *testing.T) map[string]string {
	return map[string]string{"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "api.db")}
}

func TestCommandLine(t *testing.T) {
	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"nok, unknown subcommand", nil, []string{"frobnicate"}, 2, "usage: companyapi"},
		{"nok, migrate extra arg", nil, []string{"migrate", "sideways"}, 2, "usage: companyapi"},
		{"nok, malformed DATABASE_URL", map[string]string{"DATABASE_URL": "mysql://x"}, []string{"serve"}, 2, "DATABASE_URL"},
		{"nok, DATABASE_URL without scheme", map[string]string{"DATABASE_URL": "companyapi.db"}, []string{"migrate"}, 2, "DATABASE_URL"},
		{"nok, TOKEN_TTL=abc", map[string]string{"TOKEN_TTL": "abc"}, nil, 2, "TOKEN_TTL"},
		{"nok, ADDR=nonsense", map[string]string{"ADDR": "nonsense"}, nil, 2, "ADDR"},
		{"nok, ADMIN_ADDR=nonsense", map[string]string{"ADMIN_ADDR": "nonsense"}, nil, 2, "ADMIN_ADDR"},
		{"nok, ADMIN_ADDR on the public port", map[string]string{"ADDR": ":4000", "ADMIN_ADDR": "127.0.0.1:4000"}, nil, 2, "ADMIN_ADDR"},
		{"nok, prod without secrets", map[string]string{"APP_ENV": "prod"}, nil, 2, "JWT_SECRET"},
		{"nok, bad SMTP_URL", map[string]string{"SMTP_URL": "http://x", "DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "x.db"), "ADDR": "127.0.0.1:0"}, nil, 2, "SMTP_URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, c.env, c.args...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.stderr)
			}
		})
	}
	t.Run("ok, version", func(t *testing.T) {
		code, out, _ := runCmd(t, nil, "version")
		if code != 0 || !strings.HasPrefix(out, "companyapi ") {
			t.Fatalf("exit %d, %q", code, out)
		}
	})
	t.Run("nok, malformed URL is one line", func(t *testing.T) {
		_, _, stderr := runCmd(t, map[string]string{"DATABASE_URL": "::"})
		if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 || !strings.Contains(stderr, "DATABASE_URL") {
			t.Fatalf("stderr %q", stderr)
		}
	})
}

func TestUnreachableDatabase(t *testing.T) {
	start := time.Now()
	code, _, stderr := runCmd(t, map[string]string{
		"DATABASE_URL":       "postgres://postgres@127.0.0.1:1/none?sslmode=disable",
		"DB_CONNECT_TIMEOUT": "1s",
	}, "migrate")
	if code != 1 || !strings.Contains(stderr, "database unreachable") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("gave up after %v: the retry is not bounded", time.Since(start))
	}
}

func TestMigrateCommand(t *testing.T) {
	for name, url := range map[string]func(testing.TB) string{"sqlite": storetest.SQLiteURL, "postgres": storetest.PostgresURL} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": url(t)}
			code, out, stderr := runCmd(t, env, "migrate", "status")
			if code != 0 || !strings.Contains(out, "pending") {
				t.Fatalf("status before: %d %q %q", code, out, stderr)
			}
			code, out, stderr = runCmd(t, env, "migrate")
			if code != 0 || !strings.Contains(out, "applied") {
				t.Fatalf("migrate: %d %q %q", code, out, stderr)
			}
			code, out, _ = runCmd(t, env, "migrate")
			if code != 0 || !strings.Contains(out, "up to date") {
				t.Fatalf("migrate twice: %d %q", code, out)
			}
			code, out, _ = runCmd(t, env, "migrate", "status")
			if code != 0 || strings.Contains(out, "pending") || !strings.Contains(out, "applied") {
				t.Fatalf("status after: %d %q", code, out)
			}
		})
	}
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startServer runs `companyapi serve` in-process and returns its base URL
// and a stop func that waits for a clean shutdown.
func startServer(t *testing.T, env map[string]string) (string, func() error) {
	t.Helper()
	base, _, stop := startServerOut(t, env)
	return base, stop
}

// startServerOut is startServer that also returns what serve printed.
func startServerOut(t *testing.T, env map[string]string) (string, *testlog.Buffer, func() error) {
	t.Helper()
	env["ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testlog.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envFunc(env), &out, &errb) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			return m[1], &out, func() error {
				cancel()
				select {
				case err := <-done:
					return err
				case <-time.After(15 * time.Second):
					return fmt.Errorf("serve did not stop")
				}
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServe(t *testing.T) {
	base, stop := startServer(t, sqliteEnv(t))
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/sent_mails": 200} {
		res, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s: %d, want %d", path, res.StatusCode, want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestServeProdHasNoMailbox(t *testing.T) {
	env := sqliteEnv(t)
	env["APP_ENV"] = "prod"
	env["JWT_SECRET"] = strings.Repeat("s", 32)
	env["SMTP_URL"] = "smtp://127.0.0.1:2525?tls=none"
	base, stop := startServer(t, env)
	defer stop()
	res, err := client.Get(base + "/sent_mails")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("/sent_mails in prod: %d", res.StatusCode)
	}
}

func TestMigrateOnStartFalse(t *testing.T) {
	env := sqliteEnv(t)
	env["MIGRATE_ON_START"] = "false"
	base, stop := startServer(t, env)
	defer stop()
	code, out, _ := runCmd(t, map[string]string{"DATABASE_URL": env["DATABASE_URL"]}, "migrate", "status")
	if code != 0 || !strings.Contains(out, "pending") {
		t.Fatalf("MIGRATE_ON_START=false still migrated: %q", out)
	}
	_ = base
}
