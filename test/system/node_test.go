// Package system runs real `companyapi serve` processes — one or several
// on one database, with the broker each setting selects — against real
// PostgreSQL (a throwaway cluster when a test stops or freezes it), an
// embedded NATS server and a real SMTP server, and drives them as clients
// and operators would: REST, Phoenix Channels sockets, signals. Each test
// states the figures it measured with t.Logf("FIGURE ...").
package system

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the companyapi built once for the whole test run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "companyapi-system-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "companyapi")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/companyapi")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build companyapi:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testSecret signs every node's tokens, so a token works on any node.
const testSecret = "system-test-secret-0123456789abcdefghij"

// node is one `companyapi serve` process.
type node struct {
	t    testing.TB
	name string
	addr string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// syncBuffer collects a process's output for the test log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// baseEnv is what every node gets; env overrides it.
func baseEnv(dbURL string) map[string]string {
	return map[string]string{
		"DATABASE_URL": dbURL, "APP_ENV": "prod", "JWT_SECRET": testSecret,
		"SMTP_URL": "smtp://127.0.0.1:1?tls=none", "LOG_LEVEL": "warn", "RATE_LIMIT_LOGIN": "0",
		// Several nodes share one test server with other test packages.
		"DB_MAX_CONNS": "12",
	}
}

// startNode starts a node on a free loopback port and waits until it is
// healthy; it is stopped when the test ends. The address may be given in
// env["ADDR"] (a node started again on its old address).
func startNode(t testing.TB, name string, env map[string]string) *node {
	t.Helper()
	addr := env["ADDR"]
	if addr == "" {
		addr = freeAddr(t)
	}
	n := &node{t: t, name: name, addr: addr, out: &syncBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(binary, "serve")
	if nofile := env["NOFILE"]; nofile != "" {
		// A smaller file-descriptor limit, so a test can exhaust it.
		n.cmd = exec.Command("prlimit", "--nofile="+nofile+":"+nofile, binary, "serve")
	}
	n.cmd.Env = append(os.Environ(), "ADDR="+addr, "NODE_NAME="+name)
	for k, v := range env {
		if k != "ADDR" && k != "NOFILE" {
			n.cmd.Env = append(n.cmd.Env, k+"="+v)
		}
	}
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		n.err = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("node %s output:\n%s", n.name, n.out.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(n.url("/healthz"))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return n
			}
		}
		select {
		case <-n.done:
			t.Fatalf("node %s exited at start (%v):\n%s", name, n.err, n.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not healthy after 60 s:\n%s", name, n.out.String())
		}
	}
}

func (n *node) url(path string) string { return "http://" + n.addr + path }
func (n *node) ws() string             { return "ws://" + n.addr + "/socket/websocket" }

// stop sends SIGTERM and waits for the process to end.
func (n *node) stop() error {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		return n.err
	case <-time.After(60 * time.Second):
		n.t.Errorf("node %s did not stop within 60 s of SIGTERM", n.name)
		n.kill()
		return nil
	}
}

// kill ends the process at once, as a crash would.
func (n *node) kill() {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Kill()
	<-n.done
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// migrate prepares an empty database with the binary itself.
func migrate(t testing.TB, dbURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "migrate")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
}
