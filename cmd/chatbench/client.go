package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Source addresses: the kernel gives each local address its own range of
// ephemeral ports, so spreading connections over 127.0.0.2–127.0.0.250
// lifts the ~28k-connection limit of a single 127.0.0.1 → server pair.
const (
	firstSource = 2
	lastSource  = 250
)

// loopDialer dials loopback addresses only, each connection from the next
// source address in 127.0.0.firstSource…lastSource.
type loopDialer struct {
	next    atomic.Uint32
	timeout time.Duration
}

// newLoopDialer starts the source addresses at offset, so several worker
// processes do not all begin on the same address.
func newLoopDialer(offset int) *loopDialer {
	d := &loopDialer{timeout: 15 * time.Second}
	d.next.Store(uint32(offset))
	return d
}

// DialContext refuses anything that is not a loopback IP (or localhost).
func (d *loopDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("chatbench dials loopback addresses only, not %q", addr)
	}
	nd := net.Dialer{Timeout: d.timeout}
	if ip.To4() != nil {
		n := int(d.next.Add(1)) % (lastSource - firstSource + 1)
		nd.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(firstSource+n))}
	}
	return nd.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
}

// HTTPClient is a client whose connections come from d; it keeps up to
// idle connections per host for load generators.
func (d *loopDialer) HTTPClient(idle int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
}

// phxClient is one Phoenix Channels V2 socket.
type phxClient struct {
	ws      *websocket.Conn
	joinRef string
}

// dialPhx opens wsURL (…/socket/websocket?vsn=2.0.0) with token.
func dialPhx(ctx context.Context, hc *http.Client, wsURL, token string) (*phxClient, error) {
	u := wsURL + "&token=" + url.QueryEscape(token)
	ws, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("handshake: HTTP %d", res.StatusCode)
		}
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	return &phxClient{ws: ws}, nil
}

// Send writes one frame.
func (p *phxClient) Send(ctx context.Context, f Frame) error {
	return p.SendRaw(ctx, AppendFrame(nil, f))
}

// SendRaw writes an already encoded frame. Safe for concurrent use.
func (p *phxClient) SendRaw(ctx context.Context, b []byte) error {
	return p.ws.Write(ctx, websocket.MessageText, b)
}

// Read returns the next frame. Only one goroutine may read.
func (p *phxClient) Read(ctx context.Context) (Frame, error) {
	_, data, err := p.ws.Read(ctx)
	if err != nil {
		return Frame{}, err
	}
	return DecodeFrame(data)
}

// Join joins topic and waits for its reply.
func (p *phxClient) Join(ctx context.Context, topic string) error {
	p.joinRef = "1"
	if err := p.Send(ctx, Frame{JoinRef: "1", Ref: "1", Topic: topic, Event: "phx_join"}); err != nil {
		return err
	}
	for {
		f, err := p.Read(ctx)
		if err != nil {
			return err
		}
		if f.Event != "phx_reply" || f.Ref != "1" {
			continue
		}
		r, err := decodeReply(f.Payload)
		if err != nil {
			return err
		}
		if r.Status != "ok" {
			return fmt.Errorf("join %s: %s", topic, r.Reason())
		}
		return nil
	}
}

// Heartbeat sends phoenix.js's heartbeat; the reply is left to the reader.
func (p *phxClient) Heartbeat(ctx context.Context, ref string) error {
	return p.Send(ctx, Frame{Ref: ref, Topic: "phoenix", Event: "heartbeat"})
}

// Close drops the connection without a close handshake.
func (p *phxClient) Close() { p.ws.CloseNow() } //nolint:errcheck // best effort
