package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// Several nodes (-nodes N): N server processes on one database, as a
// cluster behind a load balancer would run them.
//
//	idle   -sockets spread over the nodes: what the cluster holds, each node
//	       under its own file-descriptor ceiling, and memory per socket on
//	       each node
//	pairs  each sender on one node, its recipient on the next: every message
//	       crosses nodes, through each broker in turn (-brokers), beside the
//	       one-node run of the same chatbench run

// ClusterResult is what -nodes measured.
type ClusterResult struct {
	Nodes int `json:"nodes"`
	// Idle is per node.
	Idle []IdleResult `json:"idle,omitempty"`
	// Pairs is per broker: every message from one node to another.
	Pairs map[string]*PairsResult `json:"pairs,omitempty"`
}

// startNodes starts n servers on env with BROKER_URL=broker and returns
// their base URLs; stop stops them all.
func startNodes(ctx context.Context, bin string, env []string, n int, broker string) (bases []string, pids []int, stop func(), err error) {
	var nodes []*child
	stop = func() {
		for _, c := range nodes {
			c.Stop(15 * time.Second) //nolint:errcheck // a server's exit status says nothing here
		}
	}
	for i := range n {
		nenv := append(append([]string{}, env...), "BROKER_URL="+broker, fmt.Sprintf("NODE_NAME=node%d", i+1))
		if i > 0 {
			// An ADMIN_ADDR passed on (serverEnv) is the first node's: the
			// others could not listen on the same port.
			nenv = append(nenv, "ADMIN_ADDR=")
		}
		c, base, err := startServer(ctx, bin, nenv)
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		nodes = append(nodes, c)
		bases, pids = append(bases, base), append(pids, c.Pid())
		logf("node %d: pid %d at %s (broker %s)", i+1, c.Pid(), base, broker)
	}
	return bases, pids, stop, nil
}

// clusterIdle holds o.sockets spread over the nodes, all at once.
func clusterIdle(ctx context.Context, o options, f *fixture, bin string, env []string, res *Result) error {
	bases, pids, stop, err := startNodes(ctx, bin, env, o.nodes, "postgres")
	if err != nil {
		return err
	}
	defer stop()
	per := o.sockets / o.nodes
	results := make([]IdleResult, o.nodes)
	errs := make([]error, o.nodes)
	var wg sync.WaitGroup
	for i := range o.nodes {
		cfg := idleConfig{Sockets: per, PerWorker: o.perWorker, Settle: o.settle, Hold: o.hold, Heartbeat: 30 * time.Second}
		tokens := f.tokens[i*per : (i+1)*per]
		wg.Go(func() {
			results[i], errs[i] = holdIdle(ctx, fmt.Sprintf("node%d", i+1), wsURLOf(bases[i]), pids[i], true, tokens, cfg)
		})
	}
	wg.Wait()
	res.Cluster.Idle = results
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// clusterPairs runs the pairs scenario across nodes, once per broker.
func clusterPairs(ctx context.Context, o options, f *fixture, bin string, env []string, res *Result) error {
	res.Cluster.Pairs = map[string]*PairsResult{}
	for _, broker := range strings.Split(o.brokers, ",") {
		url := broker
		if broker == "nats" {
			ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
			if err != nil {
				return err
			}
			go ns.Start()
			if !ns.ReadyForConnections(10 * time.Second) {
				return fmt.Errorf("nats server not ready")
			}
			defer ns.Shutdown()
			url = ns.ClientURL()
		}
		bases, _, stop, err := startNodes(ctx, bin, env, o.nodes, url)
		if err != nil {
			return err
		}
		logf("pairs across nodes, broker %s", broker)
		r, err := runPairs(ctx, bases[0], bases[1%len(bases)], f, o.pairs)
		stop()
		res.Cluster.Pairs[broker] = &r
		if err != nil {
			return err
		}
	}
	return nil
}
