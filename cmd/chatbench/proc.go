package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// childEnv marks a process started by chatbench to run one of its hidden
// modes; a test binary (see TestMain) dispatches on it too.
const childEnv = "CHATBENCH_CHILD"

// child is a process chatbench started: the server, a floor server or a
// socket worker. Its stdout comes in lines; its stderr goes to ours.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	err   error // valid after done
}

var (
	childrenMu sync.Mutex
	children   = map[*child]bool{}
)

// startChild runs path with args and env (nil: ours); stderr lines are
// copied to logs prefixed by name, up to a cap.
func startChild(name, path string, args, env []string) (*child, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	// If chatbench dies, so do its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 64), done: make(chan struct{})}
	childrenMu.Lock()
	children[c] = true
	childrenMu.Unlock()
	var copied sync.WaitGroup
	copied.Add(2)
	go func() {
		defer copied.Done()
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	go func() {
		defer copied.Done()
		copyLog(name, stderr, 200)
	}()
	go func() {
		copied.Wait()
		c.err = cmd.Wait()
		childrenMu.Lock()
		delete(children, c)
		childrenMu.Unlock()
		close(c.done)
	}()
	return c, nil
}

// childTimeout is how long a child of this run may live; it stops by
// itself after that even if chatbench is gone.
var childTimeout = 15 * time.Minute

// startSelf runs this executable in a hidden mode.
func startSelf(name string, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args = append(args, "-child-timeout="+childTimeout.String())
	return startChild(name, exe, args, append(os.Environ(), childEnv+"=1"))
}

// copyLog copies r's lines to the log with a prefix, the first max of them.
func copyLog(name string, r io.Reader, max int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		if n++; n <= max {
			logf("%s: %s", name, sc.Text())
		}
	}
	if n > max {
		logf("%s: %d more stderr lines suppressed", name, n-max)
	}
}

// Pid is the child's process id.
func (c *child) Pid() int { return c.cmd.Process.Pid }

// Line returns the next stdout line that match accepts; other lines are
// logged.
func (c *child) Line(ctx context.Context, match func(string) bool) (string, error) {
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				<-c.done
				return "", fmt.Errorf("%s exited: %v", c.name, c.err)
			}
			if match(l) {
				return l, nil
			}
			logf("%s: %s", c.name, l)
		case <-ctx.Done():
			return "", fmt.Errorf("%s: %w", c.name, ctx.Err())
		}
	}
}

// Stop sends SIGTERM, waits up to grace, then kills the process group.
func (c *child) Stop(grace time.Duration) error {
	c.stdin.Close() // a worker takes this as "stop"
	select {
	case <-c.done:
		return c.err
	case <-time.After(time.Second):
	}
	c.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone
	select {
	case <-c.done:
		return c.err
	case <-time.After(grace):
	}
	syscall.Kill(-c.Pid(), syscall.SIGKILL) //nolint:errcheck // best effort
	<-c.done
	return fmt.Errorf("%s: killed after %v", c.name, grace)
}

// killChildren kills every child still running (the overall deadline).
func killChildren() {
	childrenMu.Lock()
	defer childrenMu.Unlock()
	for c := range children {
		syscall.Kill(-c.Pid(), syscall.SIGKILL) //nolint:errcheck // best effort
	}
}

// readRSS returns VmRSS of pid in KiB, from /proc/<pid>/status.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}

// raiseNoFile lifts the RLIMIT_NOFILE soft limit to the hard limit.
func raiseNoFile() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}
