package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

var (
	logMu    sync.Mutex
	logStart           = time.Now()
	logOut   io.Writer = os.Stderr
)

// logf prints a progress line on stderr.
func logf(format string, args ...any) {
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(logOut, "[%6.1fs] %s\n", time.Since(logStart).Seconds(), fmt.Sprintf(format, args...))
}

// Machine is where the figures come from.
type Machine struct {
	NProc      int    `json:"nproc"`
	CPU        string `json:"cpu"`
	Go         string `json:"go"`
	PostgreSQL string `json:"postgresql,omitempty"`
	NoFile     uint64 `json:"nofile"`
}

func machine() Machine {
	m := Machine{NProc: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// Result is everything one run measured: the RESULT line.
type Result struct {
	OK           bool           `json:"ok"`
	Error        string         `json:"error,omitempty"`
	Scenario     string         `json:"scenario"`
	Machine      Machine        `json:"machine"`
	Config       map[string]any `json:"config"`
	Idle         *IdleResult    `json:"idle,omitempty"`
	IdleFloor    *IdleResult    `json:"idle_floor,omitempty"`
	InsertFloor  []InsertFloor  `json:"insert_floor,omitempty"`
	Pairs        *PairsResult   `json:"pairs,omitempty"`
	History      *LoadResult    `json:"history,omitempty"`
	HistoryFloor *LoadResult    `json:"history_floor,omitempty"`
	Cluster      *ClusterResult `json:"cluster,omitempty"`
	MetricsCost  *MetricsCost   `json:"metrics_cost,omitempty"`
	Comparison   []Row          `json:"comparison"`
	ElapsedS     float64        `json:"elapsed_s"`
}

// Row is one figure beside its floor and target.
type Row struct {
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Floor  float64 `json:"floor,omitempty"`
	Ratio  float64 `json:"ratio,omitempty"`
	Target string  `json:"target,omitempty"`
	Met    *bool   `json:"met,omitempty"`
}

func met(b bool) *bool { return &b }

func ratio(v, floor float64) float64 {
	if floor == 0 {
		return 0
	}
	return v / floor
}

// compare builds the comparison rows from what ran; targets are the
// issue's.
func (r *Result) compare() {
	var rows []Row
	if i := r.Idle; i != nil {
		rows = append(rows, Row{Figure: "idle sockets established", Value: float64(i.Established), Unit: "sockets",
			Target: "≥19000, all", Met: met(i.Established >= 19000 && i.Failed == 0)})
		row := Row{Figure: "memory per idle socket", Value: i.KiBPerSocket, Unit: "KiB", Target: "≤12 KiB, ≤1.5× floor"}
		if f := r.IdleFloor; f != nil {
			row.Floor, row.Ratio = f.KiBPerSocket, ratio(i.KiBPerSocket, f.KiBPerSocket)
		}
		row.Met = met(i.KiBPerSocket <= 12 && (row.Floor == 0 || row.Ratio <= 1.5))
		rows = append(rows, row)
	}
	var insert32 float64
	for _, f := range r.InsertFloor {
		if f.Conns == 32 {
			insert32 = f.RowsPerSec
		}
	}
	if p := r.Pairs; p != nil {
		v := p.MaxDeliveredPerSec
		name := "pairs max sustained delivered msgs/s"
		if p.Mode == "fixed" && p.Steady != nil {
			v, name = p.Steady.DeliveredPerSec, "pairs delivered msgs/s (fixed rate)"
		}
		rows = append(rows, Row{Figure: name, Value: v, Unit: "msgs/s", Floor: insert32, Ratio: ratio(v, insert32),
			Target: "≥1.0× INSERT floor (32 conns)", Met: met(insert32 > 0 && v >= insert32)})
		if s := p.Steady; s != nil {
			rows = append(rows, Row{Figure: fmt.Sprintf("p99 send→delivery at %.0f msgs/s", s.Rate), Value: s.Deliver.P99MS,
				Unit: "ms", Target: "≤25 ms at half max", Met: met(s.Deliver.P99MS <= 25 && s.Deliver.Count > 0)})
			rows = append(rows, Row{Figure: fmt.Sprintf("p99 send→ack at %.0f msgs/s", s.Rate), Value: s.Ack.P99MS, Unit: "ms"})
		}
		rows = append(rows, Row{Figure: "lost (acked, never delivered)", Value: float64(p.Lost), Unit: "msgs",
			Target: "0", Met: met(p.Lost == 0)})
	}
	for _, f := range r.InsertFloor {
		rows = append(rows, Row{Figure: fmt.Sprintf("INSERT floor, %d conns", f.Conns), Value: f.RowsPerSec, Unit: "rows/s"})
	}
	if h := r.History; h != nil {
		row := Row{Figure: "history pages/s", Value: h.ReqPerSec, Unit: "req/s", Target: "≥0.5× plain handler"}
		lat := Row{Figure: "history p99", Value: h.Latency.P99MS, Unit: "ms"}
		if f := r.HistoryFloor; f != nil {
			row.Floor, row.Ratio = f.ReqPerSec, ratio(h.ReqPerSec, f.ReqPerSec)
			lat.Floor, lat.Ratio = f.Latency.P99MS, ratio(h.Latency.P99MS, f.Latency.P99MS)
		}
		row.Met = met(row.Floor > 0 && row.Ratio >= 0.5 && h.Errors == 0)
		rows = append(rows, row, lat)
	}
	rows = append(rows, r.clusterRows()...)
	if mc := r.MetricsCost; mc != nil {
		rows = append(rows, mc.costRow())
	}
	r.Comparison = rows
}

// clusterRows are -nodes' figures: what the cluster holds, and every
// message crossing nodes beside the one-node run.
func (r *Result) clusterRows() []Row {
	c := r.Cluster
	if c == nil {
		return nil
	}
	var rows []Row
	if len(c.Idle) > 0 {
		total, failed := 0, 0
		for i, n := range c.Idle {
			total += n.Established
			failed += n.Failed
			rows = append(rows, Row{Figure: fmt.Sprintf("node %d: memory per idle socket", i+1), Value: n.KiBPerSocket, Unit: "KiB"})
		}
		want := 19000 * c.Nodes
		rows = append(rows, Row{Figure: fmt.Sprintf("idle sockets held by %d nodes", c.Nodes), Value: float64(total), Unit: "sockets",
			Target: fmt.Sprintf("≥%d, all", want), Met: met(total >= want && failed == 0)})
	}
	var one float64
	if p := r.Pairs; p != nil && p.Mode == "max" {
		one = p.MaxDeliveredPerSec
	}
	for _, broker := range []string{"postgres", "nats"} {
		p := c.Pairs[broker]
		if p == nil {
			continue
		}
		if p.Mode == "max" {
			rows = append(rows, Row{Figure: "across nodes (" + broker + "): max sustained msgs/s", Value: p.MaxDeliveredPerSec, Unit: "msgs/s",
				Floor: one, Ratio: ratio(p.MaxDeliveredPerSec, one), Target: "≥ one node", Met: met(one > 0 && p.MaxDeliveredPerSec >= one)})
		}
		if s := p.Steady; s != nil {
			rows = append(rows, Row{Figure: fmt.Sprintf("across nodes (%s): p99 at %.0f msgs/s", broker, s.Rate), Value: s.Deliver.P99MS,
				Unit: "ms", Target: "≤25 ms at half max", Met: met(s.Deliver.P99MS <= 25 && s.Deliver.Count > 0)})
		}
		rows = append(rows, Row{Figure: "across nodes (" + broker + "): lost", Value: float64(p.Lost), Unit: "msgs", Target: "0", Met: met(p.Lost == 0)})
	}
	return rows
}

// table writes the comparison as aligned text.
func (r *Result) table(w io.Writer) {
	const format = "%-40s %16s %10s %7s  %-29s %s\n"
	fmt.Fprintf(w, "\n"+format, "figure", "value", "floor", "ratio", "target", "met")
	for _, row := range r.Comparison {
		floor, rat, m := "", "", ""
		if row.Floor != 0 {
			floor = num(row.Floor)
			rat = fmt.Sprintf("%.2f×", row.Ratio)
		}
		if row.Met != nil {
			m = map[bool]string{true: "yes", false: "NO"}[*row.Met]
		}
		fmt.Fprintf(w, format, row.Figure, num(row.Value)+" "+row.Unit, floor, rat, row.Target, m)
	}
	fmt.Fprintln(w)
}

// num prints whole numbers without decimals, others with two.
func num(v float64) string {
	if v == float64(int64(v)) || v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// print writes the one RESULT line.
func (r *Result) print(w io.Writer) {
	b, err := json.Marshal(r)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"ok":false,"error":%q}`, err.Error()))
	}
	fmt.Fprintf(w, "RESULT %s\n", b)
}
