package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestPanicIsJSON500: a handler that panics answers 500 with the JSON error
// shape, the process lives on, and the panic reaches the log, not the client.
func TestPanicIsJSON500(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(log)
	e.Use(observe(log, nil), recoverer(log))
	e.GET("/boom", func(echo.Context) error { panic("secret detail") })
	for range 2 {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
		if rec.Code != 500 || rec.Body.String() != `{"message":"internal error"}`+"\n" {
			t.Fatalf("%d %q", rec.Code, rec.Body)
		}
	}
	if !strings.Contains(logs.String(), "secret detail") || !strings.Contains(logs.String(), "status=500") {
		t.Fatalf("panic not logged with its status: %s", logs.String())
	}
}

// TestRequestLogHidesResetTokens: a request is logged by its route, so a
// path that carries a secret (a reset token) never reaches the log.
func TestRequestLogHidesResetTokens(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	e := echo.New()
	e.Use(observe(log, nil))
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	e.PUT("/api/password_resets/:token", ok)
	e.GET("/api/users/:id", ok)
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodPut, "/api/password_resets/s3cr3t-t0ken", nil),
		httptest.NewRequest(http.MethodGet, "/api/users/42", nil),
	} {
		e.ServeHTTP(httptest.NewRecorder(), r)
	}
	if out := logs.String(); strings.Contains(out, "s3cr3t") || !strings.Contains(out, "route=/api/password_resets/:token") ||
		!strings.Contains(out, "route=/api/users/:id") {
		t.Fatalf("log:\n%s", out)
	}
}
