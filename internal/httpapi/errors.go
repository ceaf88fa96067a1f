package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/chat"
)

// statusOf maps a domain error kind to its HTTP status: the one place this
// mapping lives.
var statusOf = map[chat.Kind]int{
	chat.KindInvalid:         http.StatusUnprocessableEntity,
	chat.KindNotFound:        http.StatusNotFound,
	chat.KindUnauthenticated: http.StatusUnauthorized,
	chat.KindForbidden:       http.StatusForbidden,
	chat.KindConflict:        http.StatusConflict,
	chat.KindUnavailable:     http.StatusServiceUnavailable,
	chat.KindInternal:        http.StatusInternalServerError,
}

// retryAfterUnavailable is the Retry-After of a 503, in seconds: long
// enough not to hammer a recovering store, short enough to feel live.
const retryAfterUnavailable = "2"

// messageBody is the seed's GuardianErrorHandler shape, used for every
// error that is not about a field.
type messageBody struct {
	Message string `json:"message"`
}

// fieldsBody is the seed's changeset error shape.
type fieldsBody struct {
	Errors map[string][]string `json:"errors"`
}

// errorHandler renders every error as JSON, never Echo's default text.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, body := render(err)
		switch {
		case status == http.StatusServiceUnavailable:
			// The store or the server is not answering now; the client
			// should come back shortly.
			c.Response().Header().Set("Retry-After", retryAfterUnavailable)
			log.WarnContext(c.Request().Context(), "request unavailable", "err", err,
				"method", c.Request().Method, "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		case status >= 500:
			log.ErrorContext(c.Request().Context(), "request failed", "err", err,
				"method", c.Request().Method, "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = c.JSON(status, body)
		}
		if err != nil {
			log.WarnContext(c.Request().Context(), "write error response", "err", err)
		}
	}
}

func render(err error) (int, any) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok && s != "" {
			msg = s
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = "request body too large"
		}
		return he.Code, messageBody{Message: msg}
	}
	e := chat.AsError(err)
	status := statusOf[e.Kind]
	if e.Kind == chat.KindInvalid && len(e.Fields) > 0 {
		return status, fieldsBody{Errors: e.Fields}
	}
	return status, messageBody{Message: e.Error()}
}
