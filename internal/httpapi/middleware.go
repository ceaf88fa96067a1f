package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/metrics"
)

// observe logs one line per request and counts it in the metrics: its id,
// route template (c.Path(), never the raw path, whose ids would make the
// metric's labels unbounded), status, duration and, once the token was
// checked, the user. Never the query string (tokens travel in ?token= on
// sockets), a header or a body.
func observe(log *slog.Logger, m *metrics.Metrics) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogRoutePath: true, LogMethod: true, LogLatency: true, LogRequestID: true,
		// The error handler runs first, so the status is the one sent.
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			route := v.RoutePath
			if route == "" {
				route = metrics.UnmatchedRoute
			}
			m.Request(route, v.Method, v.Status, v.Latency)
			level := slog.LevelInfo
			switch {
			case v.Status >= 500:
				level = slog.LevelError
			case route == longPollPath:
				// A LongPoll client polls every 10 s: its session's open and
				// close are logged by the socket, its polls only when asked.
				level = slog.LevelDebug
			}
			attrs := []slog.Attr{
				slog.String("request_id", v.RequestID), slog.String("method", v.Method), slog.String("route", route),
				slog.Int("status", v.Status), slog.Duration("duration", v.Latency),
			}
			if id := auth.Current(c); id != nil {
				attrs = append(attrs, slog.Int("user", id.User.ID))
			}
			log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}

// deadline bounds every request's context, so no handler waits on the
// store longer than timeout, whatever the store does: what the store has
// not answered by then is a 503 "unavailable". Requests skip says so bound
// themselves.
func deadline(timeout time.Duration, skip middleware.Skipper) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// recoverer turns a panic into a logged 500 instead of a dropped process.
func recoverer(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			log.ErrorContext(c.Request().Context(), "panic", "err", err, "stack", string(stack))
			return fmt.Errorf("panic: %w", err)
		},
	})
}

// Limiter takes a token from a bucket (internal/ratelimit: in the
// database, shared by every node).
type Limiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// rateLimit spends one token of the client IP's bucket per request, then
// answers 429 with Retry-After; a nil Limiter limits nothing. The bucket
// lives in the database, so the limit holds for the cluster as a whole.
func rateLimit(l Limiter, m *metrics.Metrics) echo.MiddlewareFunc {
	if l == nil {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ok, retry, err := l.Allow(c.Request().Context(), "auth:"+c.RealIP())
			if err != nil {
				return err
			}
			if !ok {
				m.RateLimited(c.Path())
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
				return echo.NewHTTPError(http.StatusTooManyRequests)
			}
			return next(c)
		}
	}
}
