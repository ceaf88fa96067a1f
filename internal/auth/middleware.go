package auth

import (
	"errors"
	"net/http"

	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/chat"
)

const identityKey = "identity"

// Middleware is the seed's :auth pipeline on echo-jwt: the bearer token
// from the Authorization header is verified by Verify and its Identity
// stored for handlers (see Current). Failures are 401 {"message": …}.
func (a *Authenticator) Middleware() echo.MiddlewareFunc {
	return echojwt.WithConfig(echojwt.Config{
		ContextKey:  identityKey,
		TokenLookup: "header:Authorization:Bearer ",
		ParseTokenFunc: func(c echo.Context, token string) (any, error) {
			return a.Verify(c.Request().Context(), token)
		},
		ErrorHandler: func(c echo.Context, err error) error {
			var pe *echojwt.TokenParsingError
			if !errors.As(err, &pe) {
				// Nothing extracted: no header, or not "Bearer <token>".
				return echo.NewHTTPError(http.StatusUnauthorized, ErrNoToken.Message)
			}
			if ce := (*chat.Error)(nil); errors.As(pe.Err, &ce) && ce.Kind == chat.KindUnauthenticated {
				return echo.NewHTTPError(http.StatusUnauthorized, ce.Message)
			}
			// The store failed while checking: not the client's fault.
			return pe.Err
		},
	})
}

// Current returns the Identity the middleware stored.
func Current(c echo.Context) *Identity {
	id, _ := c.Get(identityKey).(*Identity)
	return id
}
