// Package httpapi is the REST API on Echo: routes, one file per resource,
// and the one error handler that maps domain error kinds to statuses.
package httpapi

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/metrics"
)

// Config wires the API.
type Config struct {
	Chat   *chat.Service
	Auth   *auth.Authenticator
	Tokens *auth.Tokens
	DB     Pinger
	// Broker, when set, reports the broker between nodes on /readyz.
	Broker BrokerState
	Logger *slog.Logger
	// Mailbox serves /sent_mails in dev; nil in prod, where the route does
	// not exist.
	Mailbox http.Handler
	// Socket serves /socket/websocket; nil to leave it out.
	Socket http.Handler
	// LongPoll serves /socket/longpoll, the socket's LongPoll transport;
	// nil to leave it out. It bounds its own bodies and waits.
	LongPoll http.Handler
	// RateLimit limits login, registration and password change per client
	// IP; nil limits nothing.
	RateLimit Limiter
	// BodyLimit caps request bodies, e.g. "64K".
	BodyLimit string
	// RequestTimeout bounds each request's wait on the store; default
	// chat.DefaultSendTimeout.
	RequestTimeout time.Duration
	// Metrics counts and times requests and rate-limit refusals; nil
	// counts nothing.
	Metrics *metrics.Metrics
	// TrustedProxies may name the client in X-Forwarded-For; without them
	// the client is the connection's address.
	TrustedProxies []*net.IPNet
	// AllowedOrigins are the browser origins that may call the API from
	// their pages (CORS); none by default.
	AllowedOrigins []string
}

type server struct {
	chat   *chat.Service
	auth   *auth.Authenticator
	tokens *auth.Tokens
}

// New builds the Echo instance with every route and middleware.
func New(cfg Config) (*echo.Echo, error) {
	if cfg.Chat == nil || cfg.Auth == nil || cfg.Tokens == nil || cfg.DB == nil {
		return nil, errors.New("httpapi: Chat, Auth, Tokens and DB are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "64K"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = chat.DefaultSendTimeout
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	// Client addresses for rate limits come from the connection, not from
	// headers any client can forge, unless a trusted proxy forwarded it.
	e.IPExtractor = echo.ExtractIPDirect()
	if len(cfg.TrustedProxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	e.Use(middleware.RequestID())
	e.Use(observe(cfg.Logger, cfg.Metrics))
	e.Use(recoverer(cfg.Logger))
	e.Use(cors(cfg.AllowedOrigins))
	// A LongPoll POST carries up to 100 frames, bounded by the socket
	// (MaxFrame each), and a poll waits longer than a request may.
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: cfg.BodyLimit, Skipper: isLongPoll}))
	e.Use(deadline(cfg.RequestTimeout, isLongPoll))
	s := &server{chat: cfg.Chat, auth: cfg.Auth, tokens: cfg.Tokens}
	s.routes(e, cfg)
	return e, nil
}
