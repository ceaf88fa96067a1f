package auth

import (
	"errors"

	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
)

const identityKey = "identity"

// Middleware is the seed's :auth pipeline on echo-jwt: the bearer token
// from the Authorization header is verified by Verify and its Identity
// stored for handlers (see Current). A refusal is returned as the
// *chat.Error that says why (KindUnauthenticated: ErrNoToken,
// ErrInvalidToken, ErrExpiredToken, ErrRevokedToken), for the error
// handler to render; a store failure is returned as it is.
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
				return ErrNoToken
			}
			return pe.Err
		},
	})
}

// Current returns the Identity the middleware stored.
func Current(c echo.Context) *Identity {
	id, _ := c.Get(identityKey).(*Identity)
	return id
}
