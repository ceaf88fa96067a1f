package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
)

// createUser registers an account; the 201 carries the user at top level,
// as the seed's render_one, and never the password.
func (s *server) createUser(c echo.Context) error {
	o, err := bindObject(c, "user")
	if err != nil {
		return err
	}
	r := chat.Registration{Name: o.str("name"), Subname: o.str("subname"), Email: o.str("email"), Job: o.str("job")}
	if err := o.err(r.Validate()); err != nil {
		return err
	}
	u, err := s.chat.Register(c.Request().Context(), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

func (s *server) listUsers(c echo.Context) error {
	q := newQuery(c)
	limit, after := q.limit(), q.int("after", 0, 0)
	if err := q.err(); err != nil {
		return err
	}
	users, err := s.chat.ListUsers(c.Request().Context(), after, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dataBody{Data: users})
}

// meBody is the caller's own user, with how many messages they have not
// read in all their conversations.
type meBody struct {
	chat.User
	UnreadTotal int `json:"unread_total"`
}

func (s *server) me(c echo.Context) error {
	u := auth.Current(c).User
	total, err := s.chat.UnreadTotal(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dataBody{Data: meBody{User: u, UnreadTotal: total}})
}

func (s *server) getUser(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	u, err := s.chat.GetUser(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dataBody{Data: u})
}

func (s *server) changePassword(c echo.Context) error {
	o, err := bindObject(c, "password")
	if err != nil {
		return err
	}
	current, next := o.str("current"), o.str("new")
	if err := o.err(chat.ValidatePasswordChange(current, next)); err != nil {
		return err
	}
	id := auth.Current(c).User.ID
	if err := s.chat.ChangePassword(c.Request().Context(), id, current, next); err != nil {
		return err
	}
	// The change ended every earlier token, this one included, and the
	// sockets opened with them; the caller carries on with a new one.
	token, _, err := s.tokens.Issue(id)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderAuthorization, "Bearer "+token)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.NoContent(http.StatusNoContent)
}
