package main

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/companyapi/companyapi/internal/broker"
	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/events"
	"github.com/companyapi/companyapi/internal/metrics"
)

// newBus is the node's event bus, on the broker BROKER_URL names; with
// "local" the node is alone and nothing leaves the process. closeBroker
// disconnects the broker after the bus has stopped; it runs once, however
// often it is called (a shutdown step and a deferred call on early exits).
func newBus(ctx context.Context, cfg config.Config, log *slog.Logger, m *metrics.Metrics) (bus *events.Bus, closeBroker func(), err error) {
	var b broker.Broker
	if cfg.BrokerURL != "local" {
		if b, err = broker.Open(ctx, cfg.BrokerURL, cfg.DatabaseURL, log); err != nil {
			return nil, nil, err
		}
	}
	var closed atomic.Bool
	closeBroker = func() {
		if b != nil && !closed.Swap(true) {
			if err := b.Close(); err != nil {
				log.Warn("closing the broker", "err", err)
			}
		}
	}
	return events.New(events.Config{Node: cfg.NodeName, Broker: b, Logger: log, Metrics: m}), closeBroker, nil
}
