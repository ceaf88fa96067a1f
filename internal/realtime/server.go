package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/events"
)

// Server is the Phoenix socket endpoint, "/socket/websocket", and its
// LongPoll fallback, "/socket/longpoll" (LongPoll). It is an http.Handler
// for the upgrade and the events.Subscriber that turns committed events
// into pushes and closes on live sockets.
type Server struct {
	cfg     Config
	log     *slog.Logger
	origins originPolicy
	topics  map[string]channelHandler
	hub     *hub
	// longPolls finds a LongPoll session's socket by its token.
	longPolls longPolls
	logouts   recentLogouts
	presence  *presence
	typists   typists

	node string // prefix of socket IDs, unique per process
	// rechecking counts the session checks asked for and not yet run
	// (recheck.go).
	rechecking atomic.Int32
	// ctx is the parent of every channel call (SendMessage); it is
	// cancelled only when Shutdown gives up waiting. Sockets keep no
	// context of their own: an idle socket should cost no more than it must.
	ctx    context.Context
	cancel context.CancelFunc
	seq    atomic.Uint64

	// draining is set by Shutdown: frames read from then on are answered
	// "unavailable", not acted upon; inflight counts the frames being
	// handled, whose replies Shutdown waits for.
	draining atomic.Bool
	inflight atomic.Int64

	// mu orders ServeHTTP's wg.Add against Shutdown's wg.Wait; it is taken
	// once per connection, never per frame.
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

var _ events.Subscriber = (*Server)(nil)

// New validates cfg, fills its defaults and subscribes to cfg.Events.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	origins, err := newOriginPolicy(cfg.AllowedOrigins, cfg.AnyOrigin)
	if err != nil {
		return nil, err
	}
	var node [6]byte
	_, _ = rand.Read(node[:]) // crypto/rand.Read never fails
	srv := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		origins: origins,
		topics: map[string]channelHandler{
			topicChat: roomChat{chat: cfg.Chat, timeout: cfg.SendTimeout},
		},
		hub:  newHub(),
		node: hex.EncodeToString(node[:]),
	}
	srv.ctx, srv.cancel = context.WithCancel(context.Background())
	srv.presence = newPresence(srv)
	if cfg.Events != nil {
		cfg.Events.Subscribe(srv)
	}
	go srv.presence.run(srv.ctx)
	return srv, nil
}

// ServeHTTP upgrades GET /socket/websocket?vsn=2.0.0&token=... (or the
// token in Sec-WebSocket-Protocol: see requestToken) to a socket. Every
// refusal happens before the upgrade, as a plain HTTP response with a JSON
// body {"message": ...}: 403 is how Phoenix refuses a connect. After a
// successful upgrade it returns at once; the socket lives on until it
// closes or Shutdown closes it.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		// As Echo's router answers in front of this handler.
		w.Header().Set("Allow", "OPTIONS, GET")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !srv.enter() {
		writeJSONError(w, http.StatusServiceUnavailable, chat.KindUnavailable.String())
		return
	}
	defer srv.wg.Done()

	token, err := requestToken(r)
	c, status, word := srv.admit(r, token, err)
	if status != 0 {
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "2")
		}
		writeJSONError(w, status, word)
		return
	}
	// Released once the socket is in the hub (registered below), where it
	// counts by itself.
	defer c.release()
	// After the checks above, so that a browser's plain GET learns what is
	// wrong with its token or origin first, as from Phoenix.
	if status, msg := checkHandshake(w, r); status != 0 {
		writeJSONError(w, status, msg)
		return
	}

	h := &hijack{ResponseWriter: w}
	conn, err := websocket.Accept(h, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the origin is checked above, with our rules
		CompressionMode:    websocket.CompressionDisabled,
		Subprotocols:       subprotocols, // "phoenix", which authToken clients expect back
	})
	if err != nil {
		// checkHandshake has ruled out every refusal Accept would answer
		// with text/plain; what is left is a failed hijack, after the 101
		// went out, when nothing more may be written to w.
		srv.log.Debug("realtime: upgrade failed", "err", err)
		return
	}
	conn.SetReadLimit(srv.cfg.MaxFrame)

	s := srv.newSocket(c)
	s.conn = conn
	s.rc, s.br, s.readNow = h.rawConn(), h.br, h.pending
	srv.start(s, c.sess, s.serve)
}

// admitted is a connect that passed admit's checks.
type admitted struct {
	sess    Session
	expires int64 // Unix milliseconds; 0: never
	vsn     vsn
	// release ends the cap's count of the connect under way: once the
	// socket is in the hub, or when the connect fails.
	release func()
}

// admit runs the checks every new socket passes, WebSocket or LongPoll
// session, in the order of api/channels.md: origin, serializer, token,
// session, the user's cap. token and tokenErr are the request's token as
// the transport reads it. A refusal is an HTTP status and the word for it
// (503: the token could not be checked; the caller says when to retry).
func (srv *Server) admit(r *http.Request, token string, tokenErr error) (c admitted, status int, word string) {
	c.release = func() {}
	if !srv.origins.allow(r) {
		return c, http.StatusForbidden, "origin not allowed"
	}
	v, ok := parseVsn(r.URL.Query().Get("vsn"))
	if !ok {
		return c, http.StatusForbidden, "unsupported vsn"
	}
	c.vsn = v
	err := tokenErr
	if err == nil && token == "" {
		return c, http.StatusForbidden, wordMissingToken
	}
	var sess Session
	if err == nil {
		// The caller's context is bounded on the HTTP API (its deadline
		// middleware); a LongPoll request's is not, so bound it here too.
		ctx, cancel := context.WithTimeout(r.Context(), srv.cfg.SendTimeout)
		sess, err = srv.cfg.Auth.Authenticate(ctx, token)
		cancel()
	}
	if err == nil && sess.UserID <= 0 {
		srv.log.Error("realtime: Authenticate returned no user", "user", sess.UserID)
		err = errNoUser
	}
	if chat.KindOf(err) == chat.KindUnavailable {
		// The token could not be checked, not found wrong: 403 would tell
		// phoenix.js apps to throw a valid token away; 503 makes them retry.
		srv.log.Warn("realtime: cannot check token", "err", err)
		return c, http.StatusServiceUnavailable, chat.ErrUnavailable.Message
	}
	if err != nil {
		srv.log.Debug("realtime: refused token", "err", err)
		status, word := connectRefusal(err)
		return c, status, word
	}
	c.sess = sess
	if !sess.ExpiresAt.IsZero() {
		c.expires = max(sess.ExpiresAt.UnixMilli(), 1) // 0 would mean never
	}
	// Expired within the authenticator's clock-skew leeway, or logged out
	// and not yet seen as revoked by the authenticator: the socket would be
	// closed at once.
	if expiredAt(c.expires, srv.cfg.now()) {
		return c, http.StatusForbidden, wordTokenExpired
	}
	if ended, _ := srv.sessionEnded(sess); ended {
		return c, http.StatusForbidden, wordTokenRevoked
	}
	if limit := srv.cfg.MaxSocketsPerUser; limit > 0 {
		if !srv.hub.admit(sess.UserID, limit) {
			return c, http.StatusTooManyRequests, wordTooManySockets
		}
		c.release = func() { srv.hub.admitted(sess.UserID) }
	}
	return c, 0, ""
}

// newSocket makes the socket of an admitted connect; the transport fills
// in its own fields.
func (srv *Server) newSocket(c admitted) *socket {
	seq := srv.seq.Add(1)
	return &socket{
		srv:        srv,
		id:         srv.node + "." + strconv.FormatUint(seq, 36),
		userID:     c.sess.UserID,
		tokenID:    strings.Clone(c.sess.TokenID), // not a slice of a larger string
		generation: int32(c.sess.Generation),
		expires:    c.expires,
		vsn:        c.vsn,
		peerCode:   -1,
	}
}

// start registers s and runs serve on a goroutine of its own, which
// Shutdown waits for. The caller holds a count of srv.wg (enter).
func (srv *Server) start(s *socket, sess Session, serve func()) {
	srv.hub.register(s)
	srv.opened(s)
	// Shutdown, or a logout of this token or a password change, may have
	// walked the hub before this socket was in it.
	if srv.isClosed() {
		s.closeWith(websocket.StatusGoingAway, closeShutdown)
	} else if ended, reason := srv.sessionEnded(sess); ended {
		s.closeWith(websocket.StatusPolicyViolation, reason)
	}
	// The socket runs on its own goroutine so that ServeHTTP returns: net/http
	// then drops its connection state, 4 KiB read and write buffers, the
	// parsed request and a deep stack, which it would otherwise keep for the
	// socket's whole life. The goroutine count stays the same.
	srv.wg.Add(1) // while ServeHTTP's own count is held, so Shutdown waits
	go func() {
		defer srv.wg.Done()
		serve()
	}()
}

// enter admits a connection unless Shutdown has begun.
func (srv *Server) enter() bool {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	if srv.closed {
		return false
	}
	srv.wg.Add(1)
	return true
}

func (srv *Server) isClosed() bool {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return srv.closed
}

// Shutdown refuses new sockets and answers what it accepted: frames being
// handled (a send_msg waiting for its commit) finish and their replies are
// written, frames read meanwhile are answered "unavailable", and then every
// socket is closed with 1001 (going away: phoenix.js reconnects, possibly
// to another node) once its queue is written. It waits, bounded by ctx,
// for the sockets' goroutines to end; if ctx ends first the remaining
// connections are dropped without a handshake, which ends their
// goroutines soon after, and ctx's error is returned.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.closed = true
	srv.mu.Unlock()
	srv.draining.Store(true)
	for srv.inflight.Load() > 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	// The other nodes drop this node's presence at once rather than when
	// its heartbeats stop: a deploy leaves no zombie. After the frames in
	// flight, so that no join of theirs follows it.
	srv.presence.leave()
	srv.hub.eachSocket(func(s *socket) { s.closeAfterFlush(websocket.StatusGoingAway, closeShutdown) })
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		srv.cancel()
		return nil
	case <-ctx.Done():
		srv.cancel()
		srv.hub.eachSocket(func(s *socket) { s.closeNow() })
		return ctx.Err()
	}
}

// errNoUser stands for an Authenticator that accepted a token without a user.
var errNoUser = errors.New("realtime: Authenticate returned a session without a user")

// writeJSONError answers {"message": msg}: every HTTP answer of the endpoint
// other than 101 has this shape.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	body, _ := marshalJSON(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
