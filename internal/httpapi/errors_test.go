package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
)

// TestRender: every error becomes its status and its word of
// api/errors.md; field errors keep the seed's {"errors": …} shape.
func TestRender(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		body   any
	}{
		{"field errors", chat.FieldError("email", chat.MsgTaken), 422, fieldsBody{Errors: map[string][]string{"email": {chat.MsgTaken}}}},
		{"not found", fmt.Errorf("get: %w", chat.ErrNotFound), 404, messageBody{"not found"}},
		{"token revoked", auth.ErrRevokedToken, 401, messageBody{"token revoked"}},
		{"unavailable, whatever its message", &chat.Error{Kind: chat.KindUnavailable, Message: "server is shutting down"}, 503, messageBody{"unavailable"}},
		{"conflict", &chat.Error{Kind: chat.KindConflict, Message: "duplicate key"}, 409, messageBody{"conflict"}},
		{"rate limited", &chat.Error{Kind: chat.KindRateLimited, RetryAfter: time.Second}, 429, messageBody{"rate limited"}},
		{"anything else", errors.New("pq: secret detail"), 500, messageBody{"internal error"}},
		{"Echo's 404", echo.ErrNotFound, 404, messageBody{"not found"}},
		{"Echo's 405", echo.ErrMethodNotAllowed, 405, messageBody{"method not allowed"}},
		{"body limit", echo.ErrStatusRequestEntityTooLarge, 413, messageBody{"request too large"}},
		{"bad body", echo.NewHTTPError(http.StatusBadRequest, "some detail"), 400, messageBody{"invalid json"}},
		{"a status without a word", echo.NewHTTPError(http.StatusTeapot), 500, messageBody{"internal error"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := render(c.err)
			if status != c.status || !reflect.DeepEqual(body, c.body) {
				t.Fatalf("render = %d %+v, want %d %+v", status, body, c.status, c.body)
			}
		})
	}
}
