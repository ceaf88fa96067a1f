package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// natsSubject is the one subject every node publishes and subscribes to.
const natsSubject = "companyapi.events"

// NATS is the broker on a NATS server or cluster (core NATS: fire and
// forget, nothing stored). nats.go reconnects by itself, forever, and
// buffers what is published meanwhile.
type NATS struct {
	log     *slog.Logger
	nc      *nats.Conn
	handler atomic.Pointer[Handler]
}

// OpenNATS connects to the comma-separated server URLs.
func OpenNATS(urls string, log *slog.Logger) (*NATS, error) {
	if log == nil {
		log = slog.Default()
	}
	n := &NATS{log: log}
	nc, err := nats.Connect(urls,
		nats.Name("companyapi"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.Timeout(5*time.Second),
		nats.PingInterval(5*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("broker: disconnected, reconnecting", "broker", "nats", "err", err)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			// A subscriber that fell behind lost messages.
			if errors.Is(err, nats.ErrSlowConsumer) {
				log.Warn("broker: messages dropped for a slow subscriber", "broker", "nats")
				if h := n.handler.Load(); h != nil {
					(*h).Resync()
				}
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("broker: reconnected", "broker", "nats", "server", nc.ConnectedUrlRedacted())
			if h := n.handler.Load(); h != nil {
				(*h).Resync()
			}
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("broker: nats: %w", err)
	}
	n.nc = nc
	return n, nil
}

func (n *NATS) Publish(_ context.Context, payload []byte) error {
	if len(payload) > n.MaxPayload() {
		return ErrTooLarge
	}
	return n.nc.Publish(natsSubject, payload)
}

func (n *NATS) Subscribe(h Handler) error {
	if !n.handler.CompareAndSwap(nil, &h) {
		return errors.New("broker: already subscribed")
	}
	if _, err := n.nc.Subscribe(natsSubject, func(m *nats.Msg) { h.Deliver(m.Data) }); err != nil {
		return err
	}
	// Subscribing is asynchronous: make sure the server has it before
	// anything is published. Not connected yet, it subscribes on connect.
	if n.nc.IsConnected() {
		return n.nc.FlushTimeout(5 * time.Second)
	}
	return nil
}

// MaxPayload is the server's limit (1 MiB by default), or NOTIFY's until
// the first connection tells.
func (n *NATS) MaxPayload() int {
	if m := n.nc.MaxPayload(); m > 0 {
		return int(m)
	}
	return notifyMax
}

func (n *NATS) Connected() bool { return n.nc.IsConnected() }
func (n *NATS) Name() string    { return "nats" }

func (n *NATS) Close() error {
	// Drain flushes what was published and ends the subscription.
	if err := n.nc.Drain(); err != nil {
		n.nc.Close()
		return err
	}
	return nil
}
