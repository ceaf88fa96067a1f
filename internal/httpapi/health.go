package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Pinger is what /readyz asks: does the database answer.
type Pinger interface {
	Ping(ctx context.Context) error
}

type statusBody struct {
	Status string `json:"status"`
}

func healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, statusBody{Status: "ok"})
}

func readyz(db Pinger) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, statusBody{Status: "unavailable"})
		}
		return c.JSON(http.StatusOK, statusBody{Status: "ok"})
	}
}
