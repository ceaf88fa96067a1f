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

// BrokerState reports the broker between nodes: its name ("" when the
// node is alone) and whether it is connected.
type BrokerState func() (name string, connected bool)

// readyBody is /readyz's answer: the node's status, and its parts'.
type readyBody struct {
	Status   string `json:"status"`
	Database string `json:"database"`
	// Broker is "connected" or "disconnected"; absent on a lone node.
	Broker string `json:"broker,omitempty"`
}

// readyz answers within 2 s whatever the database does (stopped, frozen):
// 503 when it does not answer, so a load balancer takes the node out. A
// broker that is down does not make the node unready: it still serves its
// clients and commits their messages, and its clients recover what other
// nodes sent once the broker is back.
func readyz(db Pinger, broker BrokerState) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		body, status := readyBody{Status: "ok", Database: "ok"}, http.StatusOK
		if err := db.Ping(ctx); err != nil {
			body.Status, body.Database, status = "unavailable", "unavailable", http.StatusServiceUnavailable
			c.Response().Header().Set("Retry-After", retryAfterUnavailable)
		}
		if broker != nil {
			if name, ok := broker(); name != "" {
				body.Broker = "connected"
				if !ok {
					body.Broker = "disconnected"
				}
			}
		}
		return c.JSON(status, body)
	}
}
