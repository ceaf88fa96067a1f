package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/seed"
)

// seedHash is the password hash of seeded users; nobody logs in with it.
const seedHash = "$argon2id$v=19$m=65536,t=1,p=2$c2VlZHNlZWRzZWVkc2VlZA$YmVuY2hiZW5jaGJlbmNoYmVuY2hiZW5jaGJlbmNoYmU"

// database is the throwaway PostgreSQL database of one run.
type database struct {
	admin *sql.DB // the server's maintenance database, to create and drop
	name  string
	url   string
	db    *sql.DB
}

// checkLoopbackPG refuses a PostgreSQL URL that is not on this machine.
func checkLoopbackPG(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("-pg: want postgres://USER@HOST:PORT/DB, got %q", raw)
	}
	host := u.Hostname()
	if h := u.Query().Get("host"); strings.HasPrefix(h, "/") {
		return u, nil // a Unix socket
	}
	if host == "" || host == "localhost" {
		return u, nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-pg: chatbench loads loopback servers only, not %q", host)
	}
	return u, nil
}

// createDatabase makes an empty database on the server at pgURL.
func createDatabase(ctx context.Context, pgURL string) (*database, error) {
	u, err := checkLoopbackPG(pgURL)
	if err != nil {
		return nil, err
	}
	admin, err := sql.Open("postgres", u.String())
	if err != nil {
		return nil, err
	}
	admin.SetMaxOpenConns(2)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := admin.PingContext(pctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("PostgreSQL at %s: %w", u.Redacted(), err)
	}
	d := &database{admin: admin, name: "chatbench_" + randomHex(6)}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(d.name)); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create database on %s: %w", u.Redacted(), err)
	}
	du := *u
	du.Path = "/" + d.name
	d.url = du.String()
	if d.db, err = sql.Open("postgres", d.url); err != nil {
		d.Drop()
		return nil, err
	}
	d.db.SetMaxOpenConns(8)
	logf("database %s on %s", d.name, u.Redacted())
	return d, nil
}

// Drop removes the database, closing whatever still uses it.
func (d *database) Drop() {
	d.db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(d.name)+" WITH (FORCE)"); err != nil {
		logf("drop database %s: %v", d.name, err)
	}
	d.admin.Close()
}

// serverBinary returns bin, or builds ./cmd/companyapi into dir.
func serverBinary(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go on PATH to build the server (or pass -server-bin): %w", err)
	}
	out := filepath.Join(dir, "companyapi")
	start := time.Now()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, "github.com/companyapi/companyapi/cmd/companyapi")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build companyapi: %v\n%s", err, b)
	}
	logf("built companyapi in %.1fs", time.Since(start).Seconds())
	return out, nil
}

// serverEnv is the server's whole environment.
func serverEnv(dbURL, secret, appEnv string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + dbURL,
		"ADDR=127.0.0.1:0",
		"JWT_SECRET=" + secret,
		"APP_ENV=" + appEnv,
		"LOG_LEVEL=warn",
		"RATE_LIMIT_LOGIN=0",
		// The pairs ramp measures throughput: at its top a sender goes
		// past a user's send budget (10/s), which would count as errors.
		"RATE_LIMIT_SEND=0",
	}
	if appEnv == "prod" {
		// No registration happens, so no mail is ever sent.
		env = append(env, "SMTP_URL=smtp://127.0.0.1:1?tls=none")
	}
	// ADMIN_ADDR lets an operator watch the run on a dashboard.
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG", "ADMIN_ADDR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// migrate runs `companyapi migrate`.
func migrate(ctx context.Context, bin string, env []string) error {
	cmd := exec.CommandContext(ctx, bin, "migrate")
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("companyapi migrate: %v\n%s", err, b)
	}
	return nil
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// startServer runs `companyapi serve` and waits for its address.
func startServer(ctx context.Context, bin string, env []string) (*child, string, error) {
	c, err := startChild("server", bin, []string{"serve"}, env)
	if err != nil {
		return nil, "", err
	}
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	line, err := c.Line(lctx, listeningRE.MatchString)
	if err != nil {
		c.Stop(5 * time.Second) //nolint:errcheck // already failing
		return nil, "", err
	}
	return c, listeningRE.FindStringSubmatch(line)[1], nil
}

// fixture is what the seed made: users with tokens, one conversation per
// pair, a long history, and a conversation for the INSERT floor.
type fixture struct {
	users     []int
	tokens    []string
	pairConvs []int // pair i: users[2i] → users[2i+1]
	histConv  int
	histUser  int
	histToken string
	histMin   int
	histMax   int
	floorConv int
	floorUser int
}

// seedFixture bulk-loads n users (plus four for history and the floor),
// conversations for pairs pairs, and histN messages.
func seedFixture(ctx context.Context, db *sql.DB, secret string, n, pairs, histN int) (*fixture, error) {
	start := time.Now()
	l := seed.Loader{DB: db, Dialect: "postgres"}
	ids, err := l.Users(ctx, "bench", n+4, seedHash)
	if err != nil {
		return nil, fmt.Errorf("seed users: %w", err)
	}
	f := &fixture{users: ids[:n]}
	ps := make([][2]int, 0, pairs+2)
	for i := range pairs {
		ps = append(ps, [2]int{ids[2*i], ids[2*i+1]})
	}
	ps = append(ps, [2]int{ids[n], ids[n+1]}, [2]int{ids[n+2], ids[n+3]})
	convs, err := l.Conversations(ctx, ps)
	if err != nil {
		return nil, fmt.Errorf("seed conversations: %w", err)
	}
	f.pairConvs = convs[:pairs]
	f.histConv, f.histUser = convs[pairs], ids[n]
	f.floorConv, f.floorUser = convs[pairs+1], ids[n+2]
	if err := l.Messages(ctx, f.histConv, [2]int{ids[n], ids[n+1]}, histN); err != nil {
		return nil, fmt.Errorf("seed messages: %w", err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT min(id), max(id) FROM messages WHERE conversation_id = $1`, f.histConv).
		Scan(&f.histMin, &f.histMax); err != nil {
		return nil, fmt.Errorf("history range: %w", err)
	}
	tokens := auth.NewTokens([]byte(secret), 24*time.Hour)
	f.tokens = make([]string, n)
	for i, id := range f.users {
		if f.tokens[i], _, err = tokens.Issue(id, 0); err != nil {
			return nil, err
		}
	}
	if f.histToken, _, err = tokens.Issue(f.histUser, 0); err != nil {
		return nil, err
	}
	logf("seeded %d users, %d conversations, %d messages, signed %d tokens in %.1fs",
		n+4, len(convs), histN, n+1, time.Since(start).Seconds())
	return f, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}
