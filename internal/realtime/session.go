package realtime

import (
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/chat"
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

// endSessions closes the sockets of ended sessions, on this node: those
// opened with e.TokenID (a logout: 1008 "logged out"), or all of the user's
// (a password change: 1008 "signed out"). The tokens are already refused
// over REST and for new sockets; the client that changed its password
// reconnects with its new token.
func (srv *Server) endSessions(e chat.SessionsEnded) {
	var buf [8]*socket
	if e.TokenID == "" {
		for _, s := range srv.hub.appendSockets(buf[:0], e.UserID) {
			s.closeWith(websocket.StatusPolicyViolation, closeSignedOut)
		}
		return
	}
	// Remembered before the hub is searched: a socket that registers after
	// the search finds the entry (see loggedOut).
	srv.logouts.add(e.UserID, e.TokenID, srv.cfg.now())
	// Copied under the shard's read lock, closed outside it: closeWith
	// never blocks, and no lock is held while it runs.
	for _, s := range srv.hub.appendSockets(buf[:0], e.UserID) {
		if s.tokenID == e.TokenID {
			s.closeWith(websocket.StatusPolicyViolation, closeLoggedOut)
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
