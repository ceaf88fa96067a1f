package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/api"
)

// routes is the whole API on one screen. Every route here is documented in
// api/openapi.yaml; a test keeps the two equal.
func (s *server) routes(e *echo.Echo, cfg Config) {
	e.GET("/healthz", healthz)
	e.GET("/readyz", readyz(cfg.DB))
	e.GET("/api/openapi.yaml", openAPI)

	limited := rateLimit(cfg.RateLimitLogin)
	authed := s.auth.Middleware()

	g := e.Group("/api")
	g.POST("/users", s.createUser, limited)
	g.POST("/login", s.login, limited)

	a := g.Group("", authed)
	a.POST("/logout", s.logout)
	a.GET("/users", s.listUsers)
	a.GET("/users/me", s.me)
	a.GET("/users/:id", s.getUser)
	a.PUT("/users/me/password", s.changePassword, limited)
	a.POST("/conversations", s.createConversation)
	a.GET("/conversations", s.listConversations)
	a.GET("/conversations/:id", s.getConversation)
	a.POST("/conversations/:id/messages", s.createMessage)
	a.GET("/conversations/:id/messages", s.listMessages)

	if cfg.Socket != nil {
		e.GET("/socket/websocket", echo.WrapHandler(cfg.Socket))
	}
	if cfg.Mailbox != nil {
		h := echo.WrapHandler(cfg.Mailbox)
		e.GET("/sent_mails", h)
		e.GET("/sent_mails/:n", h)
	}
}

func openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", api.OpenAPI)
}
