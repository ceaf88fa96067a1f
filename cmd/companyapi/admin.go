package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/events"
	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/outbox"
	"github.com/companyapi/companyapi/internal/realtime"
	"github.com/companyapi/companyapi/internal/store"
)

// newMetrics is the process's metrics when ADMIN_ADDR is set; nil
// otherwise, and then nothing is counted at all.
func newMetrics(cfg config.Config, st *store.Store) *metrics.Metrics {
	if cfg.AdminAddr == "" {
		return nil
	}
	m := metrics.New(version)
	m.DB(st.DB)
	return m
}

// watch registers what is read at each scrape rather than counted: sockets
// open and joined, the broker's state, the outbox's depth.
func watch(m *metrics.Metrics, sockets *realtime.Server, bus *events.Bus, mails *outbox.Worker) {
	m.Sockets(sockets.Counts)
	m.Broker(func() bool { _, ok := bus.Connected(); return ok })
	m.Outbox(mails.MetricStats)
}

// adminHandler serves /metrics and the profiler, on a mux of its own: the
// public API (Echo) never routes to either, and nothing else is here.
func adminHandler(m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startAdmin listens on ADMIN_ADDR and serves adminHandler until the
// server is shut down; nil when ADMIN_ADDR is unset.
func startAdmin(cfg config.Config, m *metrics.Metrics, log *slog.Logger) (*http.Server, net.Addr, error) {
	if cfg.AdminAddr == "" {
		return nil, nil, nil
	}
	ln, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on ADMIN_ADDR %s: %w", cfg.AdminAddr, err)
	}
	srv := &http.Server{
		Handler:           adminHandler(m),
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: a CPU profile or trace streams for as long as
		// ?seconds= asks.
		IdleTimeout: time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("admin server", "err", err)
		}
	}()
	return srv, ln.Addr(), nil
}
