package realtime

import (
	"context"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/chat"
)

// recheckTimeout bounds one check of every socket's session.
const recheckTimeout = 30 * time.Second

// recheckSessions asks the Authenticator, when it is a SessionChecker,
// which sockets' sessions ended while events may have been lost, and
// closes those as the lost announcement would have. One check runs at a
// time; a Resync during it runs another after.
func (srv *Server) recheckSessions() {
	checker, ok := srv.cfg.Auth.(SessionChecker)
	if !ok {
		return
	}
	if srv.rechecking.Add(1) > 1 {
		return // the running check goes round again
	}
	go func() {
		for {
			srv.recheckOnce(checker)
			if srv.rechecking.Add(-1) == 0 {
				return
			}
			srv.rechecking.Store(1) // one more round covers every request
		}
	}()
}

func (srv *Server) recheckOnce(checker SessionChecker) {
	var socks []*socket
	var refs []chat.SessionRef
	srv.hub.eachSocket(func(s *socket) {
		socks = append(socks, s)
		refs = append(refs, chat.SessionRef{UserID: s.userID, TokenID: s.tokenID, Generation: int(s.generation)})
	})
	if len(refs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(srv.ctx, recheckTimeout)
	defer cancel()
	states, err := checker.Sessions(ctx, refs)
	if err != nil {
		srv.log.Warn("realtime: checking sessions after lost events", "sockets", len(refs), "err", err)
		return
	}
	for i, st := range states {
		switch st {
		case chat.SessionLoggedOut:
			socks[i].closeWith(websocket.StatusPolicyViolation, closeLoggedOut)
		case chat.SessionSignedOut:
			socks[i].closeWith(websocket.StatusPolicyViolation, closeSignedOut)
		}
	}
}
