package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// requestLogger logs one line per request through slog.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogError: true,
		// The error handler runs first, so the logged status is the one sent.
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			// The path, never the query: tokens travel in ?token= on sockets.
			// A path that carries a secret (a reset token) is logged as its
			// route.
			path := v.URIPath
			if strings.Contains(c.Path(), ":token") {
				path = c.Path()
			}
			log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("path", path), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("request_id", v.RequestID))
			return nil
		},
	})
}

// deadline bounds every request's context, so no handler waits on the
// store longer than timeout, whatever the store does: what the store has
// not answered by then is a 503 "unavailable".
func deadline(timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
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
func rateLimit(l Limiter) echo.MiddlewareFunc {
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
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
				return echo.NewHTTPError(http.StatusTooManyRequests)
			}
			return next(c)
		}
	}
}
