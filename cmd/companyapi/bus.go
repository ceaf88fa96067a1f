package main

import (
	"context"
	"log/slog"

	"github.com/companyapi/companyapi/internal/broker"
	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/events"
	"github.com/companyapi/companyapi/internal/metrics"
)

// newBus is the node's event bus, on the broker BROKER_URL names; with
// "local" the node is alone and nothing leaves the process. closeBroker
// disconnects the broker after the bus has stopped.
func newBus(ctx context.Context, cfg config.Config, log *slog.Logger, m *metrics.Metrics) (bus *events.Bus, closeBroker func(), err error) {
	var b broker.Broker
	if cfg.BrokerURL != "local" {
		if b, err = broker.Open(ctx, cfg.BrokerURL, cfg.DatabaseURL, log); err != nil {
			return nil, nil, err
		}
	}
	closeBroker = func() {
		if b != nil {
			if err := b.Close(); err != nil {
				log.Warn("closing the broker", "err", err)
			}
		}
	}
	return events.New(events.Config{Node: cfg.NodeName, Broker: b, Logger: log, Metrics: m}), closeBroker, nil
}
