package realtime

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// A socket's session ends when its token expires or is logged out; the
// socket is then closed with 1008 and one of these reasons. (Codes
// 4000-4999 would be more specific, but some clients and proxies do not
// pass them on.)
const (
	closeTokenExpired = "token expired"
	closeLoggedOut    = "logged out"
	closeSignedOut    = "signed out"
)

// expiredAt reports whether expires (Unix milliseconds, 0: never) is past
// at now. A JWT's exp is whole seconds and the token is valid before it.
// Expiry is checked when a frame arrives and when a push is delivered,
// never by a timer: phoenix.js heartbeats every 30 s.
func expiredAt(expires int64, now time.Time) bool {
	return expires != 0 && now.UnixMilli() >= expires
}

// DisconnectToken closes every live socket of userID opened with tokenID,
// on every node, with 1008 "logged out"; the user's other sockets stay
// open. The REST logout calls it after revoking the token, so the client
// cannot reconnect with it. It goes through the Broker as pushes do and
// never waits for a socket; an empty tokenID closes nothing.
func (srv *Server) DisconnectToken(userID int, tokenID string) {
	if userID <= 0 || tokenID == "" {
		return
	}
	srv.publishDisconnect(Envelope{UserIDs: []int{userID}, Event: EventDisconnect, TokenID: tokenID})
}

// DisconnectUser closes every live socket of userID (1008 "signed out"),
// through the broker like DisconnectToken: a password change ended all of
// the account's tokens, so the sockets opened with them end too. The
// client that changed it reconnects with its new token.
func (srv *Server) DisconnectUser(userID int) {
	if userID <= 0 {
		return
	}
	srv.publishDisconnect(Envelope{UserIDs: []int{userID}, Event: EventDisconnect, AllTokens: true})
}

// publishDisconnect hands a disconnect to the broker, bounded: a broker
// between nodes may block, and a logout must not hang on it. If it fails,
// the tokens are already refused over REST and for new sockets, and the
// live ones end at the latest when their tokens expire.
func (srv *Server) publishDisconnect(e Envelope) {
	ctx, cancel := context.WithTimeout(context.Background(), srv.cfg.SendTimeout)
	defer cancel()
	if err := srv.cfg.Broker.Publish(ctx, e); err != nil {
		srv.log.Error("realtime: publishing disconnect", "users", e.UserIDs, "err", err)
	}
}

// command carries out an envelope without a topic.
func (srv *Server) command(e Envelope) {
	if e.Event != EventDisconnect {
		srv.log.Warn("realtime: unknown broker command", "event", e.Event)
		return
	}
	if e.AllTokens {
		var buf [8]*socket
		for _, uid := range e.UserIDs {
			for _, s := range srv.hub.appendSockets(buf[:0], uid) {
				s.closeWith(websocket.StatusPolicyViolation, closeSignedOut)
			}
		}
		return
	}
	if e.TokenID == "" {
		return
	}
	now := srv.cfg.now()
	var buf [8]*socket
	for _, uid := range e.UserIDs {
		// Remembered before the hub is searched: a socket that registers
		// after the search finds the entry (see loggedOut).
		srv.logouts.add(uid, e.TokenID, now)
		// Copied under the shard's read lock, closed outside it: closeWith
		// never blocks, and no lock is held while it runs.
		for _, s := range srv.hub.appendSockets(buf[:0], uid) {
			if s.tokenID == e.TokenID {
				s.closeWith(websocket.StatusPolicyViolation, closeLoggedOut)
			}
		}
	}
}

// loggedOut reports whether s's token was disconnected lately. A connect
// whose token was verified just before the logout revoked it registers
// after the disconnect searched the hub; ServeHTTP asks this after
// registering, so that such a socket is closed too.
func (srv *Server) loggedOut(userID int, tokenID string) bool {
	return tokenID != "" && srv.logouts.has(userID, tokenID, srv.cfg.now())
}

// logoutMemory is how long a disconnected token is remembered: far longer
// than the time between verifying a token and registering its socket.
const logoutMemory = time.Minute

// recentLogouts remembers the tokens disconnected in the last
// logoutMemory. It holds one entry per logout per minute, and is pruned on
// every addition.
type recentLogouts struct {
	mu sync.Mutex
	m  map[logoutKey]time.Time // -> when it was disconnected
}

type logoutKey struct {
	userID  int
	tokenID string
}

func (r *recentLogouts) add(userID int, tokenID string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[logoutKey]time.Time)
	}
	for k, at := range r.m {
		if now.Sub(at) > logoutMemory {
			delete(r.m, k)
		}
	}
	r.m[logoutKey{userID, tokenID}] = now
}

func (r *recentLogouts) has(userID int, tokenID string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.m[logoutKey{userID, tokenID}]
	return ok && now.Sub(at) <= logoutMemory
}
