package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// resetRequested is the one answer to a reset request, whether or not an
// account has the address.
const resetRequested = "if an account has this email, a password reset mail is on its way"

// requestPasswordReset mails a reset token to the account of {"email"},
// answering 202 the same, in about the same time, for every address.
func (s *server) requestPasswordReset(c echo.Context) error {
	o, err := bindTop(c)
	if err != nil {
		return err
	}
	email := o.str("email")
	if err := o.err(); err != nil {
		return err
	}
	if err := s.chat.RequestPasswordReset(c.Request().Context(), email); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, messageBody{Message: resetRequested})
}

// resetPassword sets {"password"} on the account the token in the path was
// mailed to; the token works once.
func (s *server) resetPassword(c echo.Context) error {
	o, err := bindTop(c)
	if err != nil {
		return err
	}
	password := o.str("password")
	if err := o.err(); err != nil {
		return err
	}
	if err := s.chat.ResetPassword(c.Request().Context(), c.Param("token"), password); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
