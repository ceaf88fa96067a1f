package metrics

import "github.com/prometheus/client_golang/prometheus"

// Why a socket ended: the close reasons of internal/realtime, as label
// values. A socket the client closed (or whose connection dropped) ends
// for CloseClient; a reason not listed counts as CloseOther.
const (
	CloseClient        = "client"
	CloseIdleTimeout   = "idle_timeout"
	CloseSlowConsumer  = "slow_consumer"
	CloseTokenExpired  = "token_expired"
	CloseLoggedOut     = "logged_out"
	CloseSignedOut     = "signed_out"
	CloseShutdown      = "shutdown"
	CloseFrameTooLarge = "frame_too_large"
	CloseInvalidFrame  = "invalid_frame"
	CloseBinaryFrame   = "binary_frame"
	CloseWriteFailed   = "write_failed"
	CloseInternalError = "internal_error"
	CloseOther         = "other"
)

// How a socket is carried: a WebSocket, or Phoenix's LongPoll transport.
const (
	TransportWebSocket = "websocket"
	TransportLongPoll  = "longpoll"
)

var closeReasons = []string{CloseClient, CloseIdleTimeout, CloseSlowConsumer, CloseTokenExpired, CloseLoggedOut,
	CloseSignedOut, CloseShutdown, CloseFrameTooLarge, CloseInvalidFrame, CloseBinaryFrame, CloseWriteFailed,
	CloseInternalError, CloseOther}

type socketMetrics struct {
	joins         map[string]prometheus.Counter
	framesIn      prometheus.Counter
	framesOut     prometheus.Counter
	pushesQueued  prometheus.Counter
	pushesDropped prometheus.Counter
	closes        map[string]prometheus.Counter
	opened        map[string]prometheus.Counter
}

func newSocketMetrics(reg prometheus.Registerer) socketMetrics {
	pushes := counterVec(reg, "socket_pushes_total",
		"Pushes (receive_msg) handed to sockets: queued for the socket's writer, or dropped because the socket was "+
			"closing or too far behind (a slow consumer).", "result")
	return socketMetrics{
		opened: oneOf(counterVec(reg, "sockets_opened_total",
			"Sockets registered, by transport: websocket (upgraded) or longpoll (a LongPoll session opened).", "transport"),
			TransportWebSocket, TransportLongPoll),
		joins: oneOf(counterVec(reg, "socket_joins_total",
			"Channel joins answered, by result: ok or refused.", "result"), "ok", "refused"),
		framesIn:      counter(reg, "socket_frames_received_total", "Phoenix messages read from sockets and handled."),
		framesOut:     counter(reg, "socket_frames_sent_total", "Phoenix messages written to sockets."),
		pushesQueued:  pushes.WithLabelValues("queued"),
		pushesDropped: pushes.WithLabelValues("dropped"),
		closes: oneOf(counterVec(reg, "socket_closes_total",
			"Sockets ended, by reason: client (the client closed or the connection dropped), slow_consumer, "+
				"idle_timeout, token_expired, logged_out, shutdown, ...", "reason"), closeReasons...),
	}
}

// Sockets reports, at each scrape, the sockets open and those with a
// joined channel (counts read from the hub, so sockets cost nothing
// between scrapes).
func (m *Metrics) Sockets(counts func() (open, joined int)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "sockets_open",
			Help: "Sockets open now."}, func() float64 { open, _ := counts(); return float64(open) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "sockets_joined",
			Help: "Sockets with a joined channel now."}, func() float64 { _, j := counts(); return float64(j) }),
	)
}

// SocketOpened counts a socket opened over transport, one of the
// Transport* values.
func (m *Metrics) SocketOpened(transport string) {
	if m == nil {
		return
	}
	if c, ok := m.sockets.opened[transport]; ok {
		c.Inc()
	}
}

// Join counts a join's answer.
func (m *Metrics) Join(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.sockets.joins["ok"].Inc()
	} else {
		m.sockets.joins["refused"].Inc()
	}
}

// FrameIn counts a message read from a socket.
func (m *Metrics) FrameIn() {
	if m != nil {
		m.sockets.framesIn.Inc()
	}
}

// FrameOut counts a message written to a socket.
func (m *Metrics) FrameOut() {
	if m != nil {
		m.sockets.framesOut.Inc()
	}
}

// Push counts a push handed to a socket: queued, or dropped.
func (m *Metrics) Push(queued bool) {
	if m == nil {
		return
	}
	if queued {
		m.sockets.pushesQueued.Inc()
	} else {
		m.sockets.pushesDropped.Inc()
	}
}

// SocketClosed counts an ended socket under one of the Close* reasons.
func (m *Metrics) SocketClosed(reason string) {
	if m == nil {
		return
	}
	c, ok := m.sockets.closes[reason]
	if !ok {
		c = m.sockets.closes[CloseOther]
	}
	c.Inc()
}
