package httpapi

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/auth"
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
	chat.KindRateLimited:     http.StatusTooManyRequests,
	chat.KindInternal:        http.StatusInternalServerError,
}

// wordOf is the message of an error Echo or a middleware raised by status
// alone (unknown route, wrong method, body limit, rate limit), in the
// vocabulary of api/errors.md; a status not listed says "internal error".
var wordOf = map[int]string{
	http.StatusBadRequest:            "invalid json",
	http.StatusForbidden:             chat.KindForbidden.String(),
	http.StatusNotFound:              chat.KindNotFound.String(),
	http.StatusMethodNotAllowed:      "method not allowed",
	http.StatusRequestEntityTooLarge: "request too large",
	http.StatusUnsupportedMediaType:  "unsupported media type",
	http.StatusTooManyRequests:       "too many requests",
	http.StatusServiceUnavailable:    chat.KindUnavailable.String(),
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
		if wait := chat.AsError(err).RetryAfter; wait > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		}
		switch {
		case status == http.StatusServiceUnavailable:
			// The store or the server is not answering now; the client
			// should come back shortly.
			c.Response().Header().Set("Retry-After", retryAfterUnavailable)
			log.WarnContext(c.Request().Context(), "request unavailable", "err", err,
				"method", c.Request().Method, "route", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		case status >= 500:
			log.ErrorContext(c.Request().Context(), "request failed", "err", err,
				"method", c.Request().Method, "route", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		}
		if status == http.StatusUnauthorized {
			challenge(c, body.(messageBody).Message)
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

// render returns the status and body of err: field errors as
// {"errors": …}, everything else as {"message": word}.
func render(err error) (int, any) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		word, ok := wordOf[he.Code]
		if !ok {
			return http.StatusInternalServerError, messageBody{Message: chat.KindInternal.String()}
		}
		return he.Code, messageBody{Message: word}
	}
	e := chat.AsError(err)
	status := statusOf[e.Kind]
	if e.Kind == chat.KindInvalid && len(e.Fields) > 0 {
		return status, fieldsBody{Errors: e.Fields}
	}
	return status, messageBody{Message: e.Reason()}
}

// challenge sets the WWW-Authenticate header every 401 carries (RFC 9110):
// the bearer scheme, and RFC 6750's invalid_token when a token was sent
// and refused.
func challenge(c echo.Context, word string) {
	v := `Bearer realm="companyapi"`
	if word != "" && word != auth.ErrNoToken.Message && word != chat.ErrBadCredentials.Message {
		v += `, error="invalid_token", error_description="` + word + `"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, v)
}
