package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
)

// Cluster is a throwaway PostgreSQL server a test starts for itself, so
// that it may stop, start and freeze it: fault tests never touch a server
// they did not start. It needs PostgreSQL's binaries (initdb, pg_ctl), which
// internal/storetest/with-postgres.sh installs when they are missing.
type Cluster struct {
	bin    string
	dir    string
	port   int
	runAs  string // the unprivileged user that owns the cluster, when root
	frozen []int
}

// StartCluster initialises and starts a cluster on a free port; it is
// thawed, stopped and removed when t ends. Without PostgreSQL's binaries it
// skips t, or fails it when PostgreSQL is required (CI).
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := findPGBin()
	if err != nil {
		if required() {
			t.Fatalf("storetest: a throwaway PostgreSQL cluster is required: %v", err)
		}
		t.Skipf("storetest: no throwaway PostgreSQL cluster: %v", err)
	}
	sweepClusters()
	dir, err := os.MkdirTemp("", clusterPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		c.runAs = "postgres"
		u, err := user.Lookup(c.runAs)
		if err != nil {
			t.Fatalf("storetest: running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		c.thaw()
		_ = c.pgctl("-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if out, err := c.command(filepath.Join(bin, "initdb"), "-D", c.data(), "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("storetest: initdb: %v\n%s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	c.Start(t)
	return c
}

// URL is the address of database db on the cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// CreateDatabase makes an empty database and returns its URL.
func (c *Cluster) CreateDatabase(t testing.TB, name string) string {
	t.Helper()
	admin, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		t.Fatalf("storetest: create database %s: %v", name, err)
	}
	return c.URL(name)
}

// Start starts the (stopped) server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	// Durable, as production is: a fault test that stops the server
	// immediately must not lose what it acknowledged.
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=300", c.port, c.dir)
	if err := c.pgctl("-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		t.Fatalf("storetest: start cluster: %v\n%s", err, log)
	}
}

// Stop shuts the server down at once, as a crash or an operator would:
// connections are dropped.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.pgctl("-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("storetest: stop cluster: %v", err)
	}
}

// Freeze stops every process of the server with SIGSTOP: its sockets stay
// open and nothing answers, as in a network partition or a stuck failover.
func (c *Cluster) Freeze(t testing.TB) {
	t.Helper()
	pids, err := c.pids()
	if err != nil {
		t.Fatalf("storetest: freeze: %v", err)
	}
	for _, pid := range pids { // the postmaster first: it forks no more
		if err := syscall.Kill(pid, syscall.SIGSTOP); err == nil {
			c.frozen = append(c.frozen, pid)
		}
	}
}

// Thaw resumes a frozen server.
func (c *Cluster) Thaw(t testing.TB) {
	t.Helper()
	c.thaw()
}

func (c *Cluster) thaw() {
	for _, pid := range c.frozen {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	c.frozen = nil
}

// A cluster's folder names the test process that owns it, so that a later
// test can remove the clusters of a process that was killed (a test
// timeout, say) before its cleanup ran, frozen ones included.
const (
	clusterPrefix = "companyapi-cluster-"
	ownerFile     = "owner.pid"
)

// sweepClusters kills and removes the clusters whose owner has died.
func sweepClusters() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), clusterPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being created, or not ours
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || syscall.Kill(owner, 0) == nil {
			continue // its owner is alive
		}
		c := &Cluster{dir: dir}
		if pids, err := c.pids(); err == nil {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGCONT)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		os.RemoveAll(dir)
	}
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// pids returns the postmaster's pid, then its children's.
func (c *Cluster) pids() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return nil, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return nil, fmt.Errorf("postmaster.pid: %v", err)
	}
	procs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var children []int
	for _, p := range procs {
		stat, err := os.ReadFile(p)
		if err != nil {
			continue // it ended meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(pm) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			children = append(children, pid)
		}
	}
	sort.Ints(children)
	return append([]int{pm}, children...), nil
}

func (c *Cluster) pgctl(args ...string) error {
	out, err := c.command(filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", c.data()}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	if c.runAs == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("runuser", append([]string{"-u", c.runAs, "--", name}, args...)...)
}

func findPGBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb and pg_ctl not found (install the postgresql package)")
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
