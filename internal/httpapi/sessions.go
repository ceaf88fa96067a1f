package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
)

type loginData struct {
	User   chat.User `json:"user"`
	Token  string    `json:"token"`
	Expire int64     `json:"expire"`
}

// login is the seed's SessionController.create: the token comes back in
// the body and in the Authorization header.
func (s *server) login(c echo.Context) error {
	o, err := bindObject(c, "creds")
	if err != nil {
		return err
	}
	email, password := o.str("email"), o.str("password")
	if err := o.err(); err != nil {
		return err
	}
	u, err := s.chat.Login(c.Request().Context(), email, password)
	if chat.KindOf(err) == chat.KindUnauthenticated {
		// The seed's SessionView error.json: {"data": reason}.
		challenge(c, chat.ErrBadCredentials.Message)
		return c.JSON(http.StatusUnauthorized, dataBody{Data: chat.ErrBadCredentials.Message})
	}
	if err != nil {
		return err
	}
	token, claims, err := s.tokens.Issue(u.ID, u.TokenGeneration)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderAuthorization, "Bearer "+token)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, dataBody{Data: loginData{User: u, Token: token, Expire: claims.ExpiresAt.Unix()}})
}

// logout revokes the token it was called with, and so closes the sockets
// opened with it on every node; the user's other tokens keep working.
func (s *server) logout(c echo.Context) error {
	id := auth.Current(c)
	if err := s.chat.RevokeToken(c.Request().Context(), id.User.ID, id.Claims.ID, id.ExpiresAt()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
