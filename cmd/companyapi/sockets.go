package main

import (
	"log/slog"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/realtime"
)

// newSockets builds the Phoenix Channels endpoint and makes it the chat
// service's publisher, so REST posts are pushed to sockets too.
func newSockets(cfg config.Config, authn *auth.Authenticator, svc *chat.Service, log *slog.Logger) (*realtime.Server, error) {
	rt, err := realtime.New(realtime.Config{
		Auth:           authn,
		Chat:           svc,
		Logger:         log,
		IdleTimeout:    cfg.SocketIdle,
		AllowedOrigins: cfg.AllowedOrigins,
		AnyOrigin:      cfg.Dev() && len(cfg.AllowedOrigins) == 0,
	})
	if err != nil {
		return nil, err
	}
	svc.SetPublisher(rt)
	return rt, nil
}
