package realtime

import (
	"context"
	"slices"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/chat"
)

// PublishMessage pushes receive_msg {"message": m} to every socket of
// userIDs that joined room:chat, except the socket whose ID is origin (it
// gets its reply instead). The payload is encoded here, once, and handed to
// the broker; it never waits for a socket.
func (srv *Server) PublishMessage(ctx context.Context, m chat.Message, userIDs []int, origin string) {
	payload, err := marshalJSON(messageResponse{Message: m})
	if err != nil {
		srv.log.Error("realtime: encoding receive_msg", "message", m.ID, "err", err)
		return
	}
	e := Envelope{UserIDs: userIDs, Origin: origin, Topic: topicChat, Event: eventReceiveMsg, Payload: payload}
	if err := srv.cfg.Broker.Publish(ctx, e); err != nil {
		// The message is stored; clients see it when they fetch history.
		srv.log.Error("realtime: publishing receive_msg", "message", m.ID, "err", err)
	}
}

// deliver is this node's broker subscription: it queues a push on the
// matching local channels, or carries out a command. The frame of a push
// is encoded at most once per serializer, and each socket's queue entry
// shares those bytes. A socket whose token has expired is closed instead.
func (srv *Server) deliver(e Envelope) {
	if e.Topic == "" {
		srv.command(e)
		return
	}
	var now time.Time                        // read once, when a socket is found
	var parts [2]struct{ head, tail []byte } // indexed by vsn, built on first use
	var buf [8]*channel                      // on the stack for the usual few devices
	for i, uid := range e.UserIDs {
		if slices.Contains(e.UserIDs[:i], uid) {
			continue // a user listed twice still gets one push per socket
		}
		for _, ch := range srv.hub.appendChannels(buf[:0], uid, e.Topic) {
			if ch.sock.id == e.Origin {
				continue
			}
			if now.IsZero() {
				now = srv.cfg.now()
			}
			if ch.sock.expired(now) {
				ch.sock.closeWith(websocket.StatusPolicyViolation, closeTokenExpired)
				continue
			}
			p := &parts[ch.sock.vsn]
			if p.tail == nil {
				p.head, p.tail = pushParts(ch.sock.vsn, e.Topic, e.Event, e.Payload)
			}
			ch.sock.enqueue(outFrame{head: p.head, joinRef: ch.joinRef, tail: p.tail})
		}
	}
}
