package realtime

import (
	"log/slog"
	"time"

	"github.com/coder/websocket"

	"github.com/companyapi/companyapi/internal/metrics"
)

// What the sockets tell the metrics (Config.Metrics) and the log: the
// hooks the socket code calls, kept here so that it stays about sockets.

// closeReasons maps the reasons this package closes sockets with to the
// metric's label values; "" is a socket the client closed, or whose
// connection dropped.
var closeReasons = map[string]string{
	"":                metrics.CloseClient,
	closeIdle:         metrics.CloseIdleTimeout,
	closeSlow:         metrics.CloseSlowConsumer,
	closeTokenExpired: metrics.CloseTokenExpired,
	closeLoggedOut:    metrics.CloseLoggedOut,
	closeSignedOut:    metrics.CloseSignedOut,
	closeShutdown:     metrics.CloseShutdown,
	closeTooLarge:     metrics.CloseFrameTooLarge,
	closeInvalidFrame: metrics.CloseInvalidFrame,
	closeBinary:       metrics.CloseBinaryFrame,
	"write failed":    metrics.CloseWriteFailed,
	closeInternal:     metrics.CloseInternalError,
}

// Counts reports the sockets open on this node and those with a joined
// channel, for the metrics' gauges; it walks the hub, so it is read at a
// scrape, not kept up to date per socket.
func (srv *Server) Counts() (open, joined int) {
	_, open = srv.hub.counts()
	return open, srv.hub.joinedSockets()
}

// joinedSockets counts the sockets with at least one joined channel.
func (h *hub) joinedSockets() int {
	n := 0
	for i := range h.users {
		sh := &h.users[i]
		sh.mu.RLock()
		for _, list := range sh.chans {
			for j, ch := range list {
				first := true
				for _, prev := range list[:j] {
					first = first && prev.sock != ch.sock
				}
				if first {
					n++
				}
			}
		}
		sh.mu.RUnlock()
	}
	return n
}

// transport names how s is carried, for the metrics and the log.
func (s *socket) transport() string {
	if s.lp != nil {
		return metrics.TransportLongPoll
	}
	return metrics.TransportWebSocket
}

// loaded is when this package was loaded: a socket keeps when it opened
// in tenths of a second since then, 4 bytes (13 years) that fit in padding
// where a time.Time would take 24.
var loaded = time.Now()

func tenths(t time.Time) uint32 { return uint32(t.Sub(loaded) / (100 * time.Millisecond)) }

// opened notes a socket's start.
func (srv *Server) opened(s *socket) {
	s.opened = tenths(time.Now())
	srv.cfg.Metrics.SocketOpened(s.transport())
}

// ended logs one line for a socket that has ended and counts it under its
// reason: who closed it, with which code and reason, and how long it
// lived. A socket the client closed shows the client's code (1006 when the
// connection dropped without a close frame).
func (srv *Server) ended(s *socket) {
	s.mu.Lock()
	code, reason := s.closeCode, s.closeReason
	s.mu.Unlock()
	label, ok := closeReasons[reason]
	if !ok {
		label = metrics.CloseOther
	}
	srv.cfg.Metrics.SocketClosed(label)
	by := "server"
	if reason == "" {
		by, code = "client", websocket.StatusCode(s.peerCode)
		if code < 0 {
			code = websocket.StatusAbnormalClosure
		}
	}
	lived := time.Duration(tenths(time.Now())-s.opened) * 100 * time.Millisecond
	srv.log.LogAttrs(srv.ctx, slog.LevelInfo, "socket closed",
		slog.String("socket", s.id), slog.String("transport", s.transport()), slog.Int("user", s.userID), slog.Duration("duration", lived),
		slog.String("by", by), slog.Int("code", int(code)), slog.String("reason", label))
}
