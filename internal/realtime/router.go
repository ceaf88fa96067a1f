package realtime

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/companyapi/companyapi/internal/chat"
)

// Phoenix's reserved events and topic.
const (
	topicPhoenix   = "phoenix"
	eventHeartbeat = "heartbeat"
	eventJoin      = "phx_join"
	eventLeave     = "phx_leave"
	eventReply     = "phx_reply"
	eventClose     = "phx_close"
	eventError     = "phx_error"
)

// emptyObject is the "{}" of heartbeat, leave and join replies.
var emptyObject = json.RawMessage(`{}`)

// channelHandler is one channel module, as `channel "room:*", ChatRoom` is
// in the seed's UserSocket. Its errors are mapped by errorResponse.
type channelHandler interface {
	// join accepts or refuses a join; the value is the reply's response.
	// ch is in the hub already, holding its pushes (see channel.hold), so
	// that nothing committed while join reads the store is missed. after,
	// when not nil, runs once the ok reply is queued: it queues what the
	// join found (a recovery) and returns, per conversation, the newest
	// message it queued, so that pushes of those and older ones are dropped.
	join(ctx context.Context, ch *channel, payload json.RawMessage) (resp any, after func() (recovered map[int]int), err error)
	// handleIn answers one client event; the value is the reply's response.
	handleIn(ctx context.Context, s *socket, event string, payload json.RawMessage) (any, error)
}

// channel is one joined topic on one socket. Its first fields never
// change, so the hub shares it with publishers without locking them.
type channel struct {
	sock    *socket
	topic   string
	joinRef string // JSON text; every push and close on this channel carries it
	handler channelHandler

	// failed is set when the channel was failed from outside (Resync) and
	// left the hub; the socket forgets it.
	failed atomic.Bool
	// presenceRef is the channel's presence meta (phx_ref) while it is
	// tracked (see presence.go).
	presenceRef atomic.Pointer[string]

	// While holding (during its join), pushes wait in held instead of the
	// socket's queue: the join's own frames go first.
	mu      sync.Mutex
	holding bool
	held    []heldPush
	// failLater is set by a Resync during the join: the channel fails
	// once the join's frames are out (release), so the join neither
	// tracks presence for a channel already gone nor answers after its
	// phx_error.
	failLater bool
	// recovered is, after a join with recovery, the newest message it
	// carried per conversation: a push of an older one (a broker's late
	// delivery, flushed on reconnect) is a duplicate and is dropped.
	recovered map[int]int
	// recent holds the last message ids pushed, so that a message announced
	// again (a sender's retry after a commit it never heard of) is not
	// pushed twice; allocated with the first.
	recent *recentIDs
}

// recentIDs is a small ring of message ids.
type recentIDs struct {
	ids  [16]int
	next int
}

// seen reports whether id was added lately, and adds it if not.
func (r *recentIDs) seen(id int) bool {
	if slices.Contains(r.ids[:], id) {
		return true
	}
	r.ids[r.next] = id
	r.next = (r.next + 1) % len(r.ids)
	return false
}

// heldPush is a push that waited for its channel's join; id is its
// message's, 0 for other pushes.
type heldPush struct {
	id, conv int
	frame    outFrame
}

// push queues a push for the channel's socket, or holds it during the
// join. A join that holds more than a socket may queue is a slow consumer.
func (ch *channel) push(id, conv int, f outFrame) {
	ch.mu.Lock()
	if id != 0 {
		if ch.recent == nil {
			ch.recent = &recentIDs{}
		}
		if id <= ch.recovered[conv] || ch.recent.seen(id) {
			ch.mu.Unlock()
			return
		}
	}
	if ch.holding {
		if len(ch.held) < ch.sock.srv.cfg.OutboundQueue {
			ch.held = append(ch.held, heldPush{id, conv, f})
			ch.mu.Unlock()
			return
		}
		ch.holding, ch.held = false, nil
		ch.mu.Unlock()
		ch.sock.srv.cfg.Metrics.Push(false)
		ch.sock.closeSlowConsumer()
		return
	}
	ch.mu.Unlock()
	ch.sock.srv.cfg.Metrics.Push(ch.sock.enqueue(f))
}

// release queues the held pushes, in order, except those of messages the
// join queued already or older ones in the same conversation, and stops
// holding.
func (ch *channel) release(recovered map[int]int) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.recovered = recovered
	for _, h := range ch.held {
		if h.id == 0 || h.id > recovered[h.conv] {
			f := h.frame
			f.joining = true
			ch.sock.srv.cfg.Metrics.Push(ch.sock.enqueue(f))
		}
	}
	ch.holding, ch.held = false, nil
	if ch.failLater {
		ch.sock.srv.failChannel(ch)
	}
}

// failFromOutside fails ch (phx_error) for Resync; a channel still joining
// fails when its join is out.
func (ch *channel) failFromOutside() {
	if ch.failNow() {
		ch.sock.srv.failChannel(ch)
	}
}

// failNow says whether ch can fail at once; a channel still joining is
// marked to fail when its join is out.
func (ch *channel) failNow() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.holding {
		ch.failLater = true
		return false
	}
	return true
}

// handle dispatches one frame the way Phoenix.Socket's handle_in does.
func (s *socket) handle(f *frame) {
	s.srv.cfg.Metrics.FrameIn()
	switch {
	case f.topic == topicPhoenix && f.event == eventHeartbeat:
		s.reply(jsonNull, f.ref, f.topic, "ok", emptyObject)
	case f.event == eventJoin:
		s.join(f)
	default:
		ch := s.channel(f.topic)
		switch {
		case ch == nil:
			// Phoenix answers unmatched topics without a join_ref.
			s.replyError(jsonNull, f.ref, f.topic, errUnmatchedTopic)
		case f.event == eventLeave:
			s.reply(ch.joinRef, f.ref, f.topic, "ok", emptyObject)
			s.closeChannel(ch, eventClose)
		default:
			s.handleIn(ch, f)
		}
	}
}

// channel returns the socket's channel on topic; a channel that failed
// (Server.Resync) is dropped here, by the socket's own goroutine.
func (s *socket) channel(topic string) *channel {
	for i, ch := range s.channels {
		if ch.topic == topic {
			if ch.failed.Load() {
				s.channels = slices.Delete(s.channels, i, i+1)
				s.srv.removeChannel(ch) // done already; idempotent
				return nil
			}
			return ch
		}
	}
	return nil
}

// join joins f.topic. A topic already joined on this socket is closed
// first (phx_close with its old join_ref), as Phoenix does, so the client
// drops the old channel's late messages.
func (s *socket) join(f *frame) {
	h := s.srv.topics[f.topic]
	if h == nil {
		s.srv.cfg.Metrics.Join(false)
		s.replyError(jsonNull, f.ref, f.topic, errUnmatchedTopic)
		return
	}
	if old := s.channel(f.topic); old != nil {
		s.closeChannel(old, eventClose)
	}
	ch := &channel{sock: s, topic: f.topic, joinRef: f.joinRef, handler: h, holding: true}
	s.srv.hub.add(ch)
	resp, after, err := s.callJoin(h, ch, f)
	if err != nil {
		s.srv.removeChannel(ch)
		s.srv.cfg.Metrics.Join(false)
		s.replyError(f.joinRef, f.ref, f.topic, err)
		return
	}
	s.srv.cfg.Metrics.Join(true)
	s.channels = append(s.channels, ch)
	s.replyValue(f.joinRef, f.ref, f.topic, "ok", resp)
	var recovered map[int]int
	if after != nil {
		recovered = after()
	}
	ch.release(recovered)
}

// callJoin runs a channel's join, turning a panic into Phoenix's
// "join crashed" refusal.
func (s *socket) callJoin(h channelHandler, ch *channel, f *frame) (resp any, after func() map[int]int, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logger().Error("realtime: panic in join", "topic", f.topic, "panic", p, "stack", string(debug.Stack()))
			resp, after, err = nil, nil, errJoinCrashed
		}
	}()
	return h.join(s.srv.ctx, ch, f.payload)
}

// handleIn passes a client event to its channel. A panic crashes only that
// channel: the client gets phx_error and rejoins, as with a crashed
// Phoenix channel process.
func (s *socket) handleIn(ch *channel, f *frame) {
	defer func() {
		if p := recover(); p != nil {
			s.logger().Error("realtime: panic in channel", "topic", f.topic, "event", f.event, "panic", p, "stack", string(debug.Stack()))
			s.closeChannel(ch, eventError)
		}
	}()
	resp, err := ch.handler.handleIn(s.srv.ctx, s, f.event, f.payload)
	if err != nil {
		s.replyError(ch.joinRef, f.ref, f.topic, err)
		return
	}
	s.replyValue(ch.joinRef, f.ref, f.topic, "ok", resp)
}

// closeChannel removes ch and tells the client with event (phx_close, or
// phx_error for a crash); Phoenix sends both with ref = join_ref.
func (s *socket) closeChannel(ch *channel, event string) {
	if i := slices.Index(s.channels, ch); i >= 0 {
		s.channels = slices.Delete(s.channels, i, i+1)
	}
	s.srv.removeChannel(ch)
	s.send(&frame{joinRef: ch.joinRef, ref: ch.joinRef, topic: ch.topic, event: event, payload: emptyObject})
}

// replyError sends a phx_reply with status "error" and the mapped response.
func (s *socket) replyError(joinRef, ref, topic string, err error) {
	resp := errorResponse(err)
	if resp.Reason == chat.KindInternal.String() || resp.Reason == chat.KindUnavailable.String() {
		s.logger().Error("realtime: channel error", "topic", topic, "err", err)
	}
	s.replyValue(joinRef, ref, topic, "error", resp)
}

// replyValue sends a phx_reply whose response is v encoded as JSON.
func (s *socket) replyValue(joinRef, ref, topic, status string, v any) {
	resp, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if resp, err = marshalJSON(v); err != nil {
			s.logger().Error("realtime: encoding reply", "topic", topic, "err", err)
			status, resp = "error", json.RawMessage(`{"reason":"internal error"}`)
		}
	}
	s.reply(joinRef, ref, topic, status, resp)
}

// reply sends {"status": status, "response": resp} as phx_reply.
func (s *socket) reply(joinRef, ref, topic, status string, resp json.RawMessage) {
	payload := make([]byte, 0, len(`{"status":"error","response":}`)+len(resp))
	payload = append(payload, `{"status":"`...)
	payload = append(payload, status...)
	payload = append(payload, `","response":`...)
	payload = append(payload, resp...)
	payload = append(payload, '}')
	s.send(&frame{joinRef: joinRef, ref: ref, topic: topic, event: eventReply, payload: payload})
}

// send queues one frame encoded for this socket's serializer.
func (s *socket) send(f *frame) {
	s.enqueue(outFrame{head: appendFrame(nil, s.vsn, f)})
}

// sendJoining queues one of a join's own frames (see enqueue).
func (s *socket) sendJoining(f *frame) {
	s.enqueue(outFrame{head: appendFrame(nil, s.vsn, f), joining: true})
}
