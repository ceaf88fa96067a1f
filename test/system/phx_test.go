package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// phx is a Phoenix Channels V2 client, as phoenix.js speaks it: one joined
// topic, replies matched by ref, pushes kept in order.
type phx struct {
	conn    *websocket.Conn
	joinRef string

	mu       sync.Mutex
	ref      int
	waiting  map[string]chan reply
	closed   chan struct{}
	closeErr error

	pushes chan push
}

type reply struct {
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response"`
}

// push is a server push (a frame without ref).
type push struct {
	Event   string
	Payload json.RawMessage
}

// errNoReply is a call that got no reply in time; errClosed one whose
// socket closed before its reply.
var (
	errNoReply = errors.New("no reply in time")
	errClosed  = errors.New("socket closed before the reply")
)

// dialPhx connects to wsURL with token.
func dialPhx(ctx context.Context, wsURL, token string) (*phx, error) {
	q := url.Values{"vsn": {"2.0.0"}, "token": {token}}
	conn, res, err := websocket.Dial(ctx, wsURL+"?"+q.Encode(), nil)
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("dial: %w (HTTP %d)", err, res.StatusCode)
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	conn.SetReadLimit(1 << 20)
	p := &phx{conn: conn, waiting: map[string]chan reply{}, closed: make(chan struct{}), pushes: make(chan push, 100000)}
	go p.readLoop()
	return p, nil
}

func (p *phx) readLoop() {
	defer close(p.closed)
	for {
		_, b, err := p.conn.Read(context.Background())
		if err != nil {
			p.mu.Lock()
			p.closeErr = err
			p.mu.Unlock()
			return
		}
		var f [5]json.RawMessage
		if json.Unmarshal(b, &f) != nil {
			continue
		}
		var ref, event string
		_ = json.Unmarshal(f[1], &ref)
		_ = json.Unmarshal(f[3], &event)
		if event == "phx_reply" {
			var r reply
			_ = json.Unmarshal(f[4], &r)
			p.mu.Lock()
			ch := p.waiting[ref]
			delete(p.waiting, ref)
			p.mu.Unlock()
			if ch != nil {
				ch <- r
			}
			continue
		}
		select {
		case p.pushes <- push{Event: event, Payload: f[4]}:
		default: // the test stopped reading pushes
		}
	}
}

// call sends event on topic and waits up to timeout for its reply.
func (p *phx) call(topic, event string, payload any, timeout time.Duration) (reply, error) {
	p.mu.Lock()
	p.ref++
	ref := strconv.Itoa(p.ref)
	ch := make(chan reply, 1)
	p.waiting[ref] = ch
	joinRef := any(p.joinRef)
	if topic == "phoenix" || p.joinRef == "" {
		joinRef = nil
	}
	if event == "phx_join" {
		p.joinRef = ref
		joinRef = ref
	}
	p.mu.Unlock()
	b, err := json.Marshal([]any{joinRef, ref, topic, event, payload})
	if err != nil {
		return reply{}, err
	}
	wctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := p.conn.Write(wctx, websocket.MessageText, b); err != nil {
		return reply{}, errClosed
	}
	select {
	case r := <-ch:
		return r, nil
	case <-p.closed:
		return reply{}, errClosed
	case <-time.After(timeout):
		return reply{}, errNoReply
	}
}

// join joins room:chat with payload and returns the reply's response.
func (p *phx) join(payload any) (json.RawMessage, error) {
	r, err := p.call("room:chat", "phx_join", payload, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if r.Status != "ok" {
		return nil, fmt.Errorf("join refused: %s", r.Response)
	}
	return r.Response, nil
}

// closeStatus waits up to timeout for the socket to close and returns its
// close code and reason.
func (p *phx) closeStatus(timeout time.Duration) (websocket.StatusCode, string, bool) {
	select {
	case <-p.closed:
	case <-time.After(timeout):
		return 0, "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var ce websocket.CloseError
	if errors.As(p.closeErr, &ce) {
		return ce.Code, ce.Reason, true
	}
	return -1, "", true
}

func (p *phx) close() { _ = p.conn.CloseNow() }

// message is the chat message JSON.
type message struct {
	ID             int    `json:"id"`
	Content        string `json:"content"`
	SenderID       int    `json:"sender_id"`
	ConversationID int    `json:"conversation_id"`
	ClientID       string `json:"client_id"`
}

// messageOf reads {"message": {...}} (a send_msg reply or a receive_msg).
func messageOf(raw json.RawMessage) (message, error) {
	var p struct {
		Message *message `json:"message"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.Message == nil {
		return message{}, fmt.Errorf("no message in %s", raw)
	}
	return *p.Message, nil
}

// nextMessage waits up to timeout for the next receive_msg push.
func (p *phx) nextMessage(timeout time.Duration) (message, error) {
	deadline := time.After(timeout)
	for {
		select {
		case ps := <-p.pushes:
			if ps.Event == "receive_msg" {
				return messageOf(ps.Payload)
			}
		case <-deadline:
			return message{}, errNoReply
		}
	}
}

// nextPush waits up to timeout for the next push of event, skipping
// others, and returns its payload.
func (p *phx) nextPush(event string, timeout time.Duration) (json.RawMessage, error) {
	deadline := time.After(timeout)
	for {
		select {
		case ps := <-p.pushes:
			if ps.Event == event {
				return ps.Payload, nil
			}
		case <-deadline:
			return nil, fmt.Errorf("no %s within %v", event, timeout)
		}
	}
}

// presenceUsers reads the user ids of a presence_state, or of one side of
// a presence_diff.
func presenceUsers(raw json.RawMessage) map[string]int {
	var pm map[string]struct {
		Metas []json.RawMessage `json:"metas"`
	}
	_ = json.Unmarshal(raw, &pm)
	out := map[string]int{}
	for k, e := range pm {
		out[k] = len(e.Metas)
	}
	return out
}

// nextAny waits for the next push of any of events.
func (p *phx) nextAny(events []string, timeout time.Duration) (push, error) {
	deadline := time.After(timeout)
	for {
		select {
		case ps := <-p.pushes:
			if slices.Contains(events, ps.Event) {
				return ps, nil
			}
		case <-deadline:
			return push{}, fmt.Errorf("none of %v within %v", events, timeout)
		}
	}
}
