// Command chatbench load-tests companyapi on this machine and sets each
// figure beside a floor measured the same way:
//
//	idle     N joined, heartbeating Phoenix sockets: server RSS per socket,
//	         beside a bare coder/websocket server holding N sockets
//	pairs    sender→recipient pairs pushing send_msg at a fixed rate or
//	         ramping to the max sustained one: delivery and ack latency,
//	         beside PostgreSQL's single-row INSERT rate (32 and 8 conns)
//	history  GET …/messages?limit=50 on a 100 000-message conversation,
//	         beside a plain net/http + database/sql handler
//	metrics  (not in "all") the pairs ramp's max sustained rate with
//	         ADMIN_ADDR set and /metrics scraped every second, beside the
//	         rate without ADMIN_ADDR, -cost-rounds times each
//
// It creates a throwaway PostgreSQL database, builds and starts the server
// itself, dials loopback addresses only, and ends within -timeout with one
// line "RESULT {json}" on stdout; progress goes to stderr.
//
//	go run ./cmd/chatbench -scenario all -max
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command line.
type options struct {
	scenario     string
	costRounds   int
	sockets      int
	perWorker    int
	settle       time.Duration
	hold         time.Duration
	pairs        PairsConfig
	historyN     int
	historyDur   time.Duration
	concurrency  int
	insertDur    time.Duration
	serverBin    string
	pg           string
	appEnv       string
	timeout      time.Duration
	floors       bool
	childTimeout time.Duration
	nodes        int
	brokers      string
	flags        *flag.FlagSet
}

func defaultPG() string {
	if v := os.Getenv("TEST_DATABASE_URL"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// run is the whole program: the bench, or one of the hidden child modes.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	logOut = stderr
	var o options
	var worker, floorWSMode, floorHTTPMode bool
	var dbURL string
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.scenario, "scenario", "all", "idle, pairs, history, all (those three) or metrics")
	fs.IntVar(&o.costRounds, "cost-rounds", 1, "metrics: ramps with and without ADMIN_ADDR, alternating which goes first")
	fs.IntVar(&o.sockets, "sockets", 19000, "idle: sockets to hold")
	fs.IntVar(&o.perWorker, "per-worker", 5000, "idle: sockets per client worker process")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "idle: wait after the last join before reading RSS")
	fs.DurationVar(&o.hold, "hold", 0, "idle: keep the sockets open this long after reading RSS")
	fs.IntVar(&o.pairs.Pairs, "pairs", 1000, "pairs: sender→recipient pairs (two sockets each)")
	fs.Float64Var(&o.pairs.Rate, "rate", 1000, "pairs: total send_msg rate, msgs/s (without -max)")
	fs.BoolVar(&o.pairs.Max, "max", false, "pairs: ramp to the max sustained rate, then run at half of it")
	fs.Float64Var(&o.pairs.StartRate, "start-rate", 500, "pairs -max: the first step's rate")
	fs.DurationVar(&o.pairs.Duration, "duration", 15*time.Second, "pairs fixed-rate (or half-max) run; history run")
	fs.DurationVar(&o.pairs.Step, "step", 4*time.Second, "pairs -max: each step's length")
	fs.DurationVar(&o.pairs.Bound, "p99-bound", 25*time.Millisecond, "pairs -max: p99 send→delivery a sustained rate keeps")
	fs.IntVar(&o.historyN, "history-messages", 100000, "history: messages in the conversation")
	fs.DurationVar(&o.historyDur, "history-duration", 0, "history: each run's length (default -duration)")
	fs.IntVar(&o.concurrency, "concurrency", 32, "history: concurrent clients")
	fs.DurationVar(&o.insertDur, "insert-duration", 5*time.Second, "INSERT floor: length of each run")
	fs.StringVar(&o.serverBin, "server-bin", "", "companyapi binary (default: go build ./cmd/companyapi)")
	fs.StringVar(&o.pg, "pg", defaultPG(), "PostgreSQL server URL (a fresh database is created and dropped)")
	fs.StringVar(&o.appEnv, "env", "prod", "the server's APP_ENV: prod or dev")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "overall deadline")
	fs.BoolVar(&o.floors, "floors", true, "measure the floors beside the scenarios")
	fs.IntVar(&o.nodes, "nodes", 1, "server processes on one database; with 2 or more, idle spreads -sockets over them and pairs sends across them too")
	fs.StringVar(&o.brokers, "brokers", "postgres,nats", "-nodes: the brokers pairs runs across nodes with")
	// Hidden modes: chatbench re-executes itself for these.
	fs.BoolVar(&worker, "worker", false, "(internal) hold idle sockets for the parent")
	fs.BoolVar(&floorWSMode, "floor-ws", false, "(internal) the bare WebSocket floor server")
	fs.BoolVar(&floorHTTPMode, "floor-http", false, "(internal) the plain history handler floor")
	fs.StringVar(&dbURL, "db", "", "(internal) -floor-http's database")
	fs.DurationVar(&o.childTimeout, "child-timeout", 15*time.Minute, "(internal) a child's own deadline")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.flags = fs
	nofile, err := raiseNoFile()
	if err != nil {
		logf("RLIMIT_NOFILE: %v", err)
	}
	if worker || floorWSMode || floorHTTPMode {
		ctx, cancel := context.WithTimeout(ctx, o.childTimeout)
		defer cancel()
		var err error
		switch {
		case worker:
			err = runWorker(ctx, stdin, stdout)
		case floorWSMode:
			err = serveFloor(exitOnEOF(ctx, stdin), stdout, floorWS())
		default:
			err = serveHTTPFloor(exitOnEOF(ctx, stdin), stdout, dbURL)
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(stderr, "chatbench:", err)
		return 2
	}
	return bench(ctx, o, nofile, stdout, stderr)
}

// exitOnEOF ends a floor server's context when its stdin closes: the
// parent stopped it, or died.
func exitOnEOF(ctx context.Context, stdin io.Reader) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		io.Copy(io.Discard, stdin) //nolint:errcheck // any end will do
		cancel()
	}()
	return ctx
}

func (o *options) check() error {
	switch o.scenario {
	case "idle", "pairs", "history", "all", "metrics":
	default:
		return fmt.Errorf("-scenario %q: want idle, pairs, history, all or metrics", o.scenario)
	}
	if o.costRounds < 1 {
		return errors.New("-cost-rounds must be ≥ 1")
	}
	if o.scenario == "metrics" && o.nodes != 1 {
		return errors.New("-scenario metrics compares one node with and without ADMIN_ADDR: no -nodes")
	}
	if o.appEnv != "prod" && o.appEnv != "dev" {
		return fmt.Errorf("-env %q: want prod or dev", o.appEnv)
	}
	if o.nodes < 1 {
		return errors.New("-nodes must be ≥ 1")
	}
	for _, b := range strings.Split(o.brokers, ",") {
		if b != "postgres" && b != "nats" {
			return fmt.Errorf("-brokers: %q is not postgres or nats", b)
		}
	}
	if o.sockets < 1 || o.perWorker < 1 || o.pairs.Pairs < 1 || o.concurrency < 1 || o.historyN < 100 {
		return errors.New("-sockets, -per-worker, -pairs, -concurrency must be ≥ 1, -history-messages ≥ 100")
	}
	if !o.pairs.Max && o.pairs.Rate <= 0 {
		return errors.New("-rate must be > 0 (or use -max)")
	}
	if o.historyDur == 0 {
		o.historyDur = o.pairs.Duration
	}
	if _, err := checkLoopbackPG(o.pg); err != nil {
		return err
	}
	return nil
}

// wants reports whether scenario s runs; "all" is every one but metrics,
// which runs ramps of its own on servers of its own.
func (o *options) wants(s string) bool {
	return o.scenario == s || (o.scenario == "all" && s != "metrics")
}

// config is the visible flags, for the RESULT line.
func (o *options) config() map[string]any {
	m := map[string]any{}
	o.flags.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Usage, "(internal)") && f.Name != "pg" {
			m[f.Name] = f.Value.String()
		}
	})
	return m
}

// bench runs the scenarios within o.timeout and prints the table and the
// RESULT line whatever happens.
func bench(ctx context.Context, o options, nofile uint64, stdout, stderr io.Writer) int {
	start := time.Now()
	// Keep some of the budget for stopping the server and dropping the
	// database.
	work := o.timeout
	if work > time.Minute {
		work -= 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, work)
	defer cancel()
	watchdog := time.AfterFunc(o.timeout+30*time.Second, func() {
		logf("watchdog: %v overall deadline long past, giving up", o.timeout)
		killChildren()
		os.Exit(3)
	})
	defer watchdog.Stop()
	childTimeout = work + 15*time.Second

	res := &Result{Scenario: o.scenario, Machine: machine(), Config: o.config()}
	res.Machine.NoFile = nofile
	logf("chatbench: scenario %s on %d CPUs (%s), %s, RLIMIT_NOFILE %d", o.scenario, res.Machine.NProc,
		res.Machine.CPU, res.Machine.Go, nofile)
	err := runScenarios(ctx, o, res)
	res.ElapsedS = time.Since(start).Seconds()
	res.OK = err == nil
	if err != nil {
		res.Error = err.Error()
		logf("chatbench: %v", err)
	}
	res.compare()
	res.table(stderr)
	res.print(stdout)
	if err != nil {
		return 1
	}
	return 0
}

// wsURLOf is the socket URL of a server at base (http://host:port).
func wsURLOf(base string) string {
	return "ws://" + strings.TrimPrefix(base, "http://") + "/socket/websocket?vsn=2.0.0"
}
