package realtime

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/chat"
)

// Handle carries out committed events on this node's sockets, in order:
// a stored message becomes receive_msg pushes, ended sessions close their
// sockets. It never waits for a socket; messages announced by another node
// without their content are loaded first, in one query per call.
func (srv *Server) Handle(evs []chat.Event) {
	srv.loadElided(evs)
	for _, ev := range evs {
		switch e := ev.(type) {
		case chat.MessageStored:
			if e.Elided {
				continue // could not be loaded; its clients catch up over REST
			}
			payload, err := marshalJSON(receiveMsg{Message: e.Message, PrevID: nonZero(e.Prev)})
			if err != nil {
				srv.log.Error("realtime: encoding receive_msg", "message", e.Message.ID, "err", err)
				continue
			}
			srv.deliver(push{ID: e.Message.ID, Conv: e.Message.ConversationID, UserIDs: e.To, Origin: e.Origin, Topic: topicChat, Event: eventReceiveMsg, Payload: payload})
		case chat.SessionsEnded:
			srv.endSessions(e)
		case chat.ConversationCreated:
			srv.pushEvent(e.To, "", eventConversationCreated, e.Conversation)
			srv.presence.handle(e)
		case chat.ReadMarked:
			srv.pushEvent(e.To, e.Origin, eventRead, readPush{ConversationID: e.ConversationID, UserID: e.UserID, MessageID: e.MessageID})
		case chat.Typing:
			srv.pushEvent(e.To, "", eventTyping, typingPush{ConversationID: e.ConversationID, UserID: e.UserID})
		case chat.PresenceChanged, chat.PresenceState, chat.PresenceSync, chat.NodeAlive, chat.NodeLeaving:
			srv.presence.handle(e)
		}
	}
}

// loadElided fills in the messages of evs that arrived without their
// content, when one of their recipients has a socket here.
func (srv *Server) loadElided(evs []chat.Event) {
	var ids []int
	for _, ev := range evs {
		if e, ok := ev.(chat.MessageStored); ok && e.Elided && srv.hasChannels(e.To) {
			ids = append(ids, e.Message.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	// This runs on the broker's receiving goroutine: a short bound, so
	// that a slow database does not stall every node's events.
	ctx, cancel := context.WithTimeout(srv.ctx, loadElidedTimeout)
	defer cancel()
	msgs, err := srv.cfg.Chat.MessagesByID(ctx, ids)
	if err != nil {
		// The recipients here recover them from the store on rejoin.
		srv.log.Warn("realtime: loading announced messages; their recipients recover", "count", len(ids), "err", err)
		for _, ev := range evs {
			if e, ok := ev.(chat.MessageStored); ok && e.Elided {
				srv.failChannels(e.To)
			}
		}
		return
	}
	byID := make(map[int]chat.Message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	for i, ev := range evs {
		if e, ok := ev.(chat.MessageStored); ok && e.Elided {
			if m, ok := byID[e.Message.ID]; ok {
				e.Message, e.Elided = m, false
				evs[i] = e
			}
		}
	}
}

// loadElidedTimeout bounds loading the messages another node announced
// without their content.
const loadElidedTimeout = 2 * time.Second

// failChannels fails the room:chat channels of users on this node, so
// that their clients rejoin and recover.
func (srv *Server) failChannels(userIDs []int) {
	for _, uid := range userIDs {
		for _, ch := range srv.hub.appendChannels(nil, uid, topicChat) {
			ch.failFromOutside()
		}
	}
}

func (srv *Server) hasChannels(userIDs []int) bool {
	var buf [8]*channel
	for _, uid := range userIDs {
		if len(srv.hub.appendChannels(buf[:0], uid, topicChat)) > 0 {
			return true
		}
	}
	return false
}

// removeChannel takes ch out of the hub and of presence.
func (srv *Server) removeChannel(ch *channel) {
	srv.hub.remove(ch)
	srv.presence.untrack(ch)
}

// failChannel takes ch out of the hub and presence and tells its client
// with phx_error; the socket forgets it on its next frame for the topic.
// failed is set first, so that a join tracking presence meanwhile sees it.
func (srv *Server) failChannel(ch *channel) {
	if ch.failed.Swap(true) {
		return
	}
	srv.removeChannel(ch)
	ch.sock.send(&frame{joinRef: ch.joinRef, ref: ch.joinRef, topic: ch.topic, event: eventError, payload: emptyObject})
}

// Resync makes every client of room:chat recover what it may have missed:
// the channel fails (phx_error), and phoenix.js rejoins it, with the
// cursors it holds, for the join's recovery (see roomchat.go).
func (srv *Server) Resync() {
	var now []*channel
	srv.hub.eachChannel(func(ch *channel) {
		if ch.topic == topicChat && ch.failNow() {
			now = append(now, ch)
		}
	})
	// Their leaves go out in parts, before each channel fails alone.
	srv.presence.untrackMany(now)
	for _, ch := range now {
		srv.failChannel(ch)
	}
	// So may a logout's or a password change's: their sockets close.
	srv.recheckSessions()
	// Presence changes may have been lost too: ask every node for its
	// state.
	srv.presence.announce(chat.PresenceSync{From: srv.node})
}

// Pushes on room:chat besides receive_msg.
const (
	eventConversationCreated = "conversation_created"
	eventRead                = "read"
	eventTyping              = "typing"
)

type readPush struct {
	ConversationID int `json:"conversation_id"`
	UserID         int `json:"user_id"`
	MessageID      int `json:"message_id"`
}

type typingPush struct {
	ConversationID int `json:"conversation_id"`
	UserID         int `json:"user_id"`
}

// pushEvent pushes event with payload v to users' room:chat channels here,
// except the socket origin.
func (srv *Server) pushEvent(users []int, origin, event string, v any) {
	payload, err := marshalJSON(v)
	if err != nil {
		srv.log.Error("realtime: encoding a push", "event", event, "err", err)
		return
	}
	srv.deliver(push{UserIDs: users, Origin: origin, Topic: topicChat, Event: event, Payload: payload})
}

// receiveMsg is the receive_msg payload: the seed's {"message": m}, and
// the conversation's message before it (null: none). A client that holds
// prev_id holds everything before m; otherwise it missed something (a push
// from another node may arrive after a newer one) and reads it with
// ?after=<the last id it holds>, or rejoins with its cursors.
type receiveMsg struct {
	Message chat.Message `json:"message"`
	PrevID  *int         `json:"prev_id"`
}

func nonZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// push is one frame for the channels joined on Topic by UserIDs' sockets,
// except the socket whose ID is Origin (it gets its reply instead). ID is
// the message's it carries, if any.
type push struct {
	ID, Conv int
	UserIDs  []int
	Origin   string
	Topic    string
	Event    string
	Payload  json.RawMessage
}

// deliver queues a push on the matching local channels. Its frame is
// encoded at most once per serializer, and each socket's queue entry
// shares those bytes. A socket whose token has expired is closed instead.
func (srv *Server) deliver(e push) {
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
			ch.push(e.ID, e.Conv, outFrame{head: p.head, joinRef: ch.joinRef, tail: p.tail})
		}
	}
}

// closeSlowConsumer closes a socket that fell too far behind (1008); its
// client catches up by rejoining with its cursors.
func (s *socket) closeSlowConsumer() {
	s.closeWith(websocket.StatusPolicyViolation, closeSlow)
}
