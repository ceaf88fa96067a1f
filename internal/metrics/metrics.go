// Package metrics is what an operator sees of a node in the Prometheus
// format: one registry per process, owned here and handed to each part as a
// dependency, never the client library's global default. Each part reports
// through a method of *Metrics; a nil *Metrics takes every call and does
// nothing, so tests and servers without ADMIN_ADDR pay nothing.
//
// Names follow Prometheus' conventions: the companyapi_ prefix, base units
// (seconds), _total on counters. Labels take values from fixed sets (a
// route template, a close reason, a result); never a user id or a raw path.
//
// Files, one concern each: http.go (REST requests, rate limits), sockets.go
// (the Phoenix sockets), messages.go (the group commit, sends), events.go
// (the bus between nodes), outbox.go (mail).
package metrics

import (
	"database/sql"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "companyapi"

// Metrics holds the registry and every metric of the process.
type Metrics struct {
	reg      *prometheus.Registry
	http     httpMetrics
	sockets  socketMetrics
	messages messageMetrics
	events   eventMetrics
	outbox   outboxMetrics
}

// New registers the Go runtime and process collectors, build information
// and every companyapi_ metric on a new registry.
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the version label says which build runs.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	reg.MustRegister(build)
	m := &Metrics{reg: reg}
	m.http = newHTTPMetrics(reg)
	m.sockets = newSocketMetrics(reg)
	m.messages = newMessageMetrics(reg)
	m.events = newEventMetrics(reg)
	m.outbox = newOutboxMetrics(reg)
	return m
}

// Handler serves the registry in the Prometheus text format (or what the
// scraper negotiates). A collector that fails leaves its metrics out
// rather than failing the whole scrape.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:      m.reg, // promhttp_metric_handler_errors_total
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	})
}

// Registry is the process's registry, for tests that gather directly.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// DB reports the connection pool's statistics (go_sql_*, db_name
// "companyapi"): connections open, in use and idle, and how often and
// how long callers waited for one.
func (m *Metrics) DB(db *sql.DB) {
	if m == nil || db == nil {
		return
	}
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, namespace))
}

// Latency buckets, in seconds, for everything from a commit (a millisecond
// or less) to a request that waited out its deadline (10 s).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func counter(reg prometheus.Registerer, name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	reg.MustRegister(c)
	return c
}

func counterVec(reg prometheus.Registerer, name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	reg.MustRegister(c)
	return c
}

func histogram(reg prometheus.Registerer, name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets})
	reg.MustRegister(h)
	return h
}

// oneOf returns the children of v for each of values, so that the hot
// paths find theirs in a map instead of hashing label values; every series
// exists from the start, at 0, so rate() sees its first increase.
func oneOf(v *prometheus.CounterVec, values ...string) map[string]prometheus.Counter {
	m := make(map[string]prometheus.Counter, len(values))
	for _, s := range values {
		m[s] = v.WithLabelValues(s)
	}
	return m
}
