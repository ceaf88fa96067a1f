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
		// Remembered first, as a logout is: a socket whose token of an
		// earlier generation was verified before the change committed
		// registers after this search, and finds the entry (see ended).
		srv.logouts.signOut(e.UserID, e.Generation, srv.cfg.now())
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

// sessionEnded reports whether sess's token was disconnected lately: logged out,
// or of a generation a password change or reset ended. A connect whose
// token was verified just before the logout or change committed registers
// after the disconnect searched the hub; ServeHTTP asks this after
// registering, so that such a socket is closed too. It returns the close
// reason.
func (srv *Server) sessionEnded(sess Session) (bool, string) {
	now := srv.cfg.now()
	if sess.TokenID != "" && srv.logouts.has(sess.UserID, sess.TokenID, now) {
		return true, closeLoggedOut
	}
	if srv.logouts.signedOut(sess.UserID, sess.Generation, now) {
		return true, closeSignedOut
	}
	return false, ""
}

// logoutMemory is how long a disconnected token is remembered: far longer
// than the time between verifying a token and registering its socket.
const logoutMemory = time.Minute

// recentLogouts remembers the tokens disconnected in the last
// logoutMemory, and the generations ended by password changes. It holds
// one entry per logout or change per minute, and is pruned on every
// addition.
type recentLogouts struct {
	mu sync.Mutex
	m  map[logoutKey]time.Time // -> when it was disconnected
	// gens maps a user to the generation a change moved it to: tokens of
	// earlier ones are ended.
	gens map[int]signOut
}

type signOut struct {
	generation int
	at         time.Time
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

// signOut remembers that the user's tokens of generations before gen
// ended. An announcement without a generation (0, from an older node)
// cannot tell tokens apart and is not remembered.
func (r *recentLogouts) signOut(userID, gen int, now time.Time) {
	if gen <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gens == nil {
		r.gens = make(map[int]signOut)
	}
	for k, so := range r.gens {
		if now.Sub(so.at) > logoutMemory {
			delete(r.gens, k)
		}
	}
	if so, ok := r.gens[userID]; !ok || so.generation < gen {
		r.gens[userID] = signOut{generation: gen, at: now}
	}
}

// signedOut reports whether a token of generation gen was ended lately.
func (r *recentLogouts) signedOut(userID, gen int, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	so, ok := r.gens[userID]
	return ok && gen < so.generation && now.Sub(so.at) <= logoutMemory
}
