package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// runScenarios sets up (database, seed, server), runs the chosen scenarios
// and their floors into res, and tears down whatever happens.
func runScenarios(ctx context.Context, o options, res *Result) (err error) {
	tmp, err := os.MkdirTemp("", "chatbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	db, err := createDatabase(ctx, o.pg)
	if err != nil {
		return err
	}
	defer db.Drop()
	db.db.QueryRowContext(ctx, `SELECT current_setting('server_version') || ' (fsync=' || current_setting('fsync') ||
		', synchronous_commit=' || current_setting('synchronous_commit') || ', max_connections=' ||
		current_setting('max_connections') || ')'`).Scan(&res.Machine.PostgreSQL) //nolint:errcheck // informative
	bin, err := serverBinary(ctx, o.serverBin, tmp)
	if err != nil {
		return err
	}
	secret := randomHex(32)
	env := serverEnv(db.url, secret, o.appEnv)
	if err := migrate(ctx, bin, env); err != nil {
		return err
	}
	users, pairs := 2, 0
	if o.wants("idle") {
		users = max(users, o.sockets)
	}
	if o.wants("pairs") || o.wants("metrics") {
		users, pairs = max(users, 2*o.pairs.Pairs), o.pairs.Pairs
	}
	f, err := seedFixture(ctx, db.db, secret, users, pairs, o.historyN)
	if err != nil {
		return err
	}
	if o.wants("metrics") {
		return metricsScenario(ctx, o, f, bin, env, res)
	}
	srv, base, err := startServer(ctx, bin, env)
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.Stop(15 * time.Second); serr != nil && !strings.Contains(serr.Error(), "exit status") {
			err = errors.Join(err, fmt.Errorf("server stop: %w", serr))
		}
	}()
	logf("server pid %d at %s (APP_ENV=%s)", srv.Pid(), base, o.appEnv)

	if o.wants("idle") {
		// With several nodes, the idle sockets go to the cluster only: one
		// process could not hold them all.
		if o.nodes == 1 {
			if err := idleScenario(ctx, o, f, srv.Pid(), base, res); err != nil {
				return err
			}
		}
	}
	// History before pairs: the pairs and the INSERT floor add hundreds of
	// thousands of newer rows in other conversations, after which
	// PostgreSQL plans the history query as a backward walk of the primary
	// key past all of them (see README, Performance).
	if o.wants("history") {
		if err := historyScenario(ctx, o, f, db, base, res); err != nil {
			return err
		}
	}
	if o.wants("pairs") {
		if err := pairsScenario(ctx, o, f, db.url, base, res); err != nil {
			return err
		}
	}
	if o.nodes > 1 {
		// The one-node server steps aside: the cluster's nodes are alone
		// on the machine.
		if serr := srv.Stop(15 * time.Second); serr != nil && !strings.Contains(serr.Error(), "exit status") {
			return serr
		}
		res.Cluster = &ClusterResult{Nodes: o.nodes}
		if o.wants("idle") {
			if err := clusterIdle(ctx, o, f, bin, env, res); err != nil {
				return err
			}
		}
		if o.wants("pairs") {
			if err := clusterPairs(ctx, o, f, bin, env, res); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

func idleScenario(ctx context.Context, o options, f *fixture, pid int, base string, res *Result) error {
	cfg := idleConfig{Sockets: o.sockets, PerWorker: o.perWorker, Settle: o.settle, Hold: o.hold, Heartbeat: 30 * time.Second}
	r, err := holdIdle(ctx, "companyapi", wsURLOf(base), pid, true, f.tokens, cfg)
	res.Idle = &r
	if err != nil || !o.floors {
		return err
	}
	fl, addr, err := startFloor(ctx, "floor-ws", "-floor-ws")
	if err != nil {
		return err
	}
	defer fl.Stop(10 * time.Second) //nolint:errcheck // a floor's exit status says nothing
	fr, err := holdIdle(ctx, "bare-ws", wsURLOf(addr), fl.Pid(), false, f.tokens, cfg)
	res.IdleFloor = &fr
	return err
}

func pairsScenario(ctx context.Context, o options, f *fixture, dbURL, base string, res *Result) error {
	if o.floors {
		for _, conns := range []int{32, 8} {
			logf("INSERT floor: %d connections for %v", conns, o.insertDur)
			r, err := insertFloor(ctx, dbURL, conns, f.floorConv, f.floorUser, o.insertDur)
			if err != nil {
				return fmt.Errorf("INSERT floor: %w", err)
			}
			logf("INSERT floor: %d connections → %.0f rows/s (p99 %.2f ms)", conns, r.RowsPerSec, r.Latency.P99MS)
			res.InsertFloor = append(res.InsertFloor, r)
		}
	}
	r, err := runPairs(ctx, base, base, f, o.pairs)
	res.Pairs = &r
	return err
}

func historyScenario(ctx context.Context, o options, f *fixture, db *database, base string, res *Result) error {
	// Statistics as autovacuum would have them by now.
	if _, err := db.db.ExecContext(ctx, "ANALYZE messages"); err != nil {
		return err
	}
	load := HistoryLoad{Base: base, Conv: f.histConv, Token: f.histToken, MinID: f.histMin, MaxID: f.histMax,
		Concurrency: o.concurrency, Duration: o.historyDur}
	warm := load
	warm.Duration = min(time.Second, o.historyDur)
	runHistory(ctx, "warm-up", warm)
	if o.floors {
		fl, addr, err := startFloor(ctx, "floor-http", "-floor-http", "-db", db.url)
		if err != nil {
			return err
		}
		defer fl.Stop(10 * time.Second) //nolint:errcheck // a floor's exit status says nothing
		fload := load
		fload.Base = addr
		fr := runHistory(ctx, "plain-handler", fload)
		res.HistoryFloor = &fr
		fl.Stop(10 * time.Second) //nolint:errcheck // as above
	}
	r := runHistory(ctx, "companyapi", load)
	res.History = &r
	return ctx.Err()
}

// startFloor runs a floor server as a child of this binary and waits for
// the "listening <addr>" line it prints when ready.
func startFloor(ctx context.Context, name string, args ...string) (*child, string, error) {
	fl, err := startSelf(name, args...)
	if err != nil {
		return nil, "", err
	}
	line, err := fl.Line(ctx, func(l string) bool { return strings.HasPrefix(l, "listening ") })
	if err != nil {
		fl.Stop(10 * time.Second) //nolint:errcheck // already failing
		return nil, "", err
	}
	return fl, strings.TrimPrefix(line, "listening "), nil
}
