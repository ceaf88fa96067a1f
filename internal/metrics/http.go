package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	limited  *prometheus.CounterVec
}

func newHTTPMetrics(reg prometheus.Registerer) httpMetrics {
	h := httpMetrics{
		requests: counterVec(reg, "http_requests_total",
			"REST requests answered, by route template, method and status code.", "route", "method", "code"),
		limited: counterVec(reg, "ratelimit_refusals_total",
			"Requests refused with 429 by the per-client rate limit, by route template.", "route"),
	}
	h.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help:    "Time from a REST request's arrival to its answer, by route template and method.",
		Buckets: latencyBuckets,
	}, []string{"route", "method"})
	reg.MustRegister(h.duration)
	return h
}

// UnmatchedRoute is the route label of a request no route matched: its
// raw path would make the label set unbounded.
const UnmatchedRoute = "unmatched"

// Request counts one answered REST request. route is the route template
// ("/api/conversations/:id"), or "" when none matched.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = UnmatchedRoute
	}
	method = knownMethod(method)
	m.http.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.http.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// RateLimited counts a request the rate limit refused.
func (m *Metrics) RateLimited(route string) {
	if m == nil {
		return
	}
	m.http.limited.WithLabelValues(route).Inc()
}

// knownMethod keeps the method label bounded: any client may send any
// token as a method.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "OTHER"
}
