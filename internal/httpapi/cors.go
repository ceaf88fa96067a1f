package httpapi

import (
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// corsMaxAge is how long, in seconds, a browser may reuse a preflight's
// answer.
const corsMaxAge = 3600

// cors answers CORS for the REST API (/api/…) to the browser origins
// listed, preflights included, and to no other: a page on another origin
// gets no Access-Control-Allow-Origin, so its browser withholds every
// answer. Credentials are bearer tokens the page sends itself, never
// cookies, so no Access-Control-Allow-Credentials. Nothing else (the
// socket checks its origin itself, the dev mailbox must not be readable
// from any page) answers CORS.
func cors(origins []string) echo.MiddlewareFunc {
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		allowed[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	if len(allowed) == 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		Skipper: func(c echo.Context) bool { return !strings.HasPrefix(c.Request().URL.Path, "/api/") },
		// Exact origins: echo's own list would also match wildcards and
		// subdomains.
		AllowOriginFunc: func(origin string) (bool, error) { return allowed[strings.ToLower(origin)], nil },
		AllowHeaders:    []string{echo.HeaderAuthorization, echo.HeaderContentType},
		// The token comes back in Authorization (login, password change).
		ExposeHeaders: []string{echo.HeaderAuthorization, echo.HeaderRetryAfter, echo.HeaderWWWAuthenticate},
		MaxAge:        corsMaxAge,
	})
}
