package httpapi

import (
	"net"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/api"
	"github.com/companyapi/companyapi/internal/connlimit"
)

// routes is the whole API on one screen. Every route here is documented in
// api/openapi.yaml; a test keeps the two equal.
func (s *server) routes(e *echo.Echo, cfg Config) {
	e.GET("/healthz", healthz)
	e.GET("/readyz", readyz(cfg.DB, cfg.Broker))
	e.GET("/api/openapi.yaml", openAPI)
	pageRoutes(e)

	limited := rateLimit(cfg.RateLimit, cfg.Metrics)
	authed := s.auth.Middleware()

	g := e.Group("/api")
	g.POST("/users", s.createUser, limited)
	g.POST("/login", s.login, limited)
	g.POST("/password_resets", s.requestPasswordReset, limited)
	g.PUT("/password_resets/:token", s.resetPassword, limited)

	// Auth is per route, not a group middleware: a group would also run it
	// for unknown paths and turn every 404/405 under /api into a 401.
	g.POST("/logout", s.logout, authed)
	g.GET("/users", s.listUsers, authed)
	g.GET("/users/me", s.me, authed)
	g.GET("/users/:id", s.getUser, authed)
	g.PUT("/users/me/password", s.changePassword, authed, limited)
	g.POST("/conversations", s.createConversation, authed)
	g.GET("/conversations", s.listConversations, authed)
	g.GET("/conversations/:id", s.getConversation, authed)
	g.PUT("/conversations/:id/read", s.markRead, authed)
	g.POST("/conversations/:id/messages", s.createMessage, authed)
	g.GET("/conversations/:id/messages", s.listMessages, authed)

	if cfg.Socket != nil {
		e.GET("/socket/websocket", echo.WrapHandler(cfg.Socket))
	}
	if cfg.LongPoll != nil {
		// The client's address as TRUSTED_PROXIES lets it be told, for
		// the cap on LongPoll sessions per client.
		h := func(c echo.Context) error {
			r := c.Request()
			if ip := net.ParseIP(c.RealIP()); ip != nil {
				r = r.WithContext(connlimit.WithClient(r.Context(), ip))
			}
			cfg.LongPoll.ServeHTTP(c.Response(), r)
			return nil
		}
		e.GET(longPollPath, h)
		e.POST(longPollPath, h)
		// Its own preflight answer: CORS for the socket's origins.
		e.OPTIONS(longPollPath, h)
	}
	if cfg.Mailbox != nil {
		h := echo.WrapHandler(cfg.Mailbox)
		e.GET("/sent_mails", h)
		e.GET("/sent_mails/:n", h)
	}
}

// longPollPath is the socket's LongPoll transport, whose requests some
// middleware leaves to it (see New).
const longPollPath = "/socket/longpoll"

func isLongPoll(c echo.Context) bool { return c.Path() == longPollPath }

func openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", api.OpenAPI)
}
