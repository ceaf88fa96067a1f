package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/companyapi/companyapi/internal/storetest"
)

// TestMain lets the test binary stand in for chatbench's child processes
// (socket workers, floor servers), which re-execute os.Executable().
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runBench runs chatbench with args and returns its result and the RESULT
// line, failing unless it exits 0 with that one line on stdout.
func runBench(t *testing.T, args ...string) (Result, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	t.Log(stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if code != 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "RESULT {") {
		t.Fatalf("exit %d, stdout %q", code, stdout.String())
	}
	var res Result
	if err := json.Unmarshal([]byte(strings.TrimPrefix(lines[0], "RESULT ")), &res); err != nil {
		t.Fatal(err)
	}
	return res, lines[0]
}

// TestSmoke runs every scenario and floor, tiny, against a real server on
// PostgreSQL. Without PostgreSQL it skips loudly, or fails under CI=true or
// REQUIRE_POSTGRES=1 (storetest's rules).
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end run")
	}
	// storetest finds the server and makes a database on it; chatbench
	// connects there and creates (and drops) its own beside it.
	res, line := runBench(t, "-scenario", "all", "-pg", storetest.PostgresURL(t), "-timeout", "2m",
		"-sockets", "40", "-per-worker", "25", "-settle", "200ms",
		"-pairs", "10", "-rate", "100", "-duration", "1s",
		"-history-messages", "500", "-history-duration", "500ms", "-concurrency", "4",
		"-insert-duration", "300ms")
	if !res.OK || res.Idle == nil || res.IdleFloor == nil || res.Pairs == nil || res.Pairs.Steady == nil ||
		res.History == nil || res.HistoryFloor == nil || len(res.InsertFloor) != 2 {
		t.Fatalf("incomplete result: %s", line)
	}
	if res.Idle.Established != 40 || res.Idle.Workers != 2 || res.IdleFloor.Established != 40 || res.Idle.AliveAtEnd != 40 {
		t.Errorf("idle %+v, floor %+v", res.Idle, res.IdleFloor)
	}
	if s := res.Pairs.Steady; s.Sent != 100 || s.Acked != 100 || s.Delivered != 100 || res.Pairs.Lost != 0 {
		t.Errorf("pairs %+v", s)
	}
	if res.History.Requests == 0 || res.History.Errors != 0 || res.HistoryFloor.Requests == 0 || res.HistoryFloor.Errors != 0 {
		t.Errorf("history %+v, floor %+v", res.History, res.HistoryFloor)
	}
	for _, f := range res.InsertFloor {
		if f.Rows == 0 || f.Errors != 0 {
			t.Errorf("INSERT floor %+v", f)
		}
	}
}

// TestMetricsSmoke runs the metrics scenario tiny: a ramp against a server
// without ADMIN_ADDR and one against a server with it, scraped every
// second. The bound is unreachable, so each ramp is a few short steps; what
// counts is that both ramps ran, the scrapes succeeded and saw the
// messages committed, and the result says how far apart the rates were.
func TestMetricsSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end run")
	}
	res, line := runBench(t, "-scenario", "metrics", "-pg", storetest.PostgresURL(t), "-timeout", "2m",
		"-pairs", "5", "-history-messages", "100", "-start-rate", "40", "-step", "500ms", "-p99-bound", "1ns")
	mc := res.MetricsCost
	if !res.OK || mc == nil || res.Pairs != nil || res.Idle != nil || res.History != nil {
		t.Fatalf("result: %s", line)
	}
	if len(mc.Off) != 1 || len(mc.On) != 1 || mc.Scrapes < 1 || mc.ScrapeErrors != 0 || mc.ScrapeBytes < 1000 || mc.CommittedSeen < 1 {
		t.Errorf("metrics cost %+v", mc)
	}
	if n := len(res.Comparison); n != 1 || res.Comparison[0].Met == nil {
		t.Errorf("comparison %+v, want the one cost row", res.Comparison)
	}
}
