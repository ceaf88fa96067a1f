package main

import (
	"context"
	"log/slog"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/events"
	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/realtime"
)

// newSockets builds the Phoenix Channels endpoint, subscribed to the
// committed events of every node.
func newSockets(cfg config.Config, authn *auth.Authenticator, svc *chat.Service, bus *events.Bus, log *slog.Logger, m *metrics.Metrics) (*realtime.Server, error) {
	return realtime.New(realtime.Config{
		Auth:              socketAuth{authn, svc},
		Chat:              svc,
		Events:            bus,
		Logger:            log,
		Metrics:           m,
		IdleTimeout:       cfg.SocketIdle,
		SendTimeout:       cfg.SendTimeout,
		AllowedOrigins:    cfg.AllowedOrigins,
		AnyOrigin:         cfg.Dev() && len(cfg.AllowedOrigins) == 0,
		MaxSocketsPerUser: cfg.MaxSocketsPerUser,
		// A LongPoll session stands for the connection a WebSocket holds.
		MaxLongPollsPerClient: cfg.MaxConnsPerIP,
	})
}

// socketAuth is the socket's view of a token: the same verification as
// REST (signature, expiry, revocation, user), kept as a realtime.Session so
// that the socket ends when the token expires or is logged out
// (chat.SessionsEnded with the token's jti).
type socketAuth struct {
	a   *auth.Authenticator
	svc *chat.Service
}

// socketAuth checks its sockets' sessions after a broker gap too.
var _ realtime.SessionChecker = socketAuth{}

func (s socketAuth) Sessions(ctx context.Context, refs []chat.SessionRef) ([]chat.SessionState, error) {
	return s.svc.Sessions(ctx, refs)
}

func (s socketAuth) Authenticate(ctx context.Context, token string) (realtime.Session, error) {
	id, err := s.a.Verify(ctx, token)
	if err != nil {
		return realtime.Session{}, err
	}
	sess := realtime.Session{UserID: id.User.ID, TokenID: id.Claims.ID, Generation: id.Claims.Generation()}
	if id.Claims.ExpiresAt != nil {
		sess.ExpiresAt = id.Claims.ExpiresAt.Time
	}
	return sess, nil
}
