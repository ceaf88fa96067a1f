package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
)

// The seed's channel: topic "room:chat", client event "send_msg", server
// push "receive_msg".
const (
	topicChat       = "room:chat"
	eventSendMsg    = "send_msg"
	eventReceiveMsg = "receive_msg"
)

// roomChat is the seed's ChatRoom channel. Joining registers the socket in
// the hub (the seed's ChannelSessions.save_socket), which the generic join
// does for every channel; delivery of receive_msg is in publish.go.
type roomChat struct {
	chat    Sender
	timeout time.Duration
}

// join accepts any payload: the user comes from the socket's token. The
// socket becomes present (presence.go): after the ok reply, the channel
// gets presence_state. A payload with "cursors" asks for recovery too (see
// decodeRecover): the messages the client missed are pushed, oldest first,
// right after the reply and before any live push, which the channel holds
// meanwhile; the reply carries the read marks of those conversations.
func (rc roomChat) join(ctx context.Context, ch *channel, payload json.RawMessage) (any, func() map[int]int, error) {
	q, recovering, err := decodeRecover(payload)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	var rec chat.Recovered
	if recovering {
		if rec, err = rc.chat.Recover(ctx, ch.sock.userID, q); err != nil {
			return nil, nil, asPayloadFields(err)
		}
	}
	state, err := ch.sock.srv.presence.track(ctx, ch)
	if err != nil {
		return nil, nil, err
	}
	after := func() map[int]int {
		recovered := map[int]int{}
		for _, m := range rec.Messages {
			payload, err := marshalJSON(receiveMsg{Message: m, PrevID: nonZero(m.Prev)})
			if err != nil {
				continue
			}
			ch.sock.send(&frame{joinRef: ch.joinRef, ref: jsonNull, topic: topicChat, event: eventReceiveMsg, payload: payload})
			recovered[m.ConversationID] = max(recovered[m.ConversationID], m.ID)
		}
		ch.sock.send(&frame{joinRef: ch.joinRef, ref: jsonNull, topic: topicChat, event: eventPresenceState, payload: state})
		return recovered
	}
	if !recovering {
		return emptyObject, after, nil
	}
	if rec.Truncated == nil {
		rec.Truncated = []int{}
	}
	return recoverReply{Recovered: len(rec.Messages), Truncated: rec.Truncated, ReadMarks: rec.ReadMarks}, after, nil
}

// recoverReply answers a join with recovery: how many messages follow as
// receive_msg pushes, and the conversations with more than that (paged
// with GET .../messages?after=<last id held>).
type recoverReply struct {
	Recovered int   `json:"recovered"`
	Truncated []int `json:"truncated"`
	// ReadMarks is, per conversation recovered or named, each
	// participant's read mark: {"<conversation>": {"<user>": id}}.
	ReadMarks map[string]map[string]int `json:"read_marks"`
}

// decodeRecover reads a join payload {"cursors": {"<conversation id>":
// <last message id held>, ...}, "since": <highest id held>}; ok is false
// without "cursors" (a plain join).
func decodeRecover(payload json.RawMessage) (q chat.RecoverQuery, ok bool, err error) {
	var p struct {
		Cursors map[string]json.RawMessage `json:"cursors"`
		Since   json.RawMessage            `json:"since"`
	}
	if json.Unmarshal(payload, &p) != nil || p.Cursors == nil {
		return q, false, nil
	}
	fe := chat.FieldErrors{}
	q.Cursors = make(map[int]int, len(p.Cursors))
	for k, raw := range p.Cursors {
		conv, err1 := strconv.Atoi(k)
		var last int
		err2 := json.Unmarshal(raw, &last)
		if err1 != nil || err2 != nil || conv <= 0 || last < 0 {
			fe.Add("cursors", "should map conversation ids to message ids")
			break
		}
		q.Cursors[conv] = last
	}
	if len(p.Since) > 0 && string(p.Since) != jsonNull {
		if json.Unmarshal(p.Since, &q.Since) != nil || q.Since < 0 {
			fe.Add("since", "is invalid")
		}
	}
	return q, true, fe.Err()
}

func (rc roomChat) handleIn(ctx context.Context, s *socket, event string, payload json.RawMessage) (any, error) {
	switch event {
	case eventSendMsg:
	case eventRead:
		return rc.read(ctx, s, payload)
	case eventTyping:
		return rc.typing(ctx, s, payload)
	default:
		return nil, errUnknownEvent
	}
	in, err := decodeSendMsg(payload)
	if err != nil {
		return nil, err
	}
	in.SenderID, in.Origin = s.userID, s.id
	// The read loop waits for this call; the bound keeps a slow store from
	// starving the socket's heartbeats for longer than SendTimeout.
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	m, err := rc.chat.SendMessage(ctx, in)
	if err != nil {
		return nil, asPayloadFields(err)
	}
	// SendMessage returns after the commit, so this ok acknowledges a
	// stored message.
	return messageResponse{Message: m}, nil
}

// messageResponse is {"message": m}: the send_msg reply and the
// receive_msg payload.
type messageResponse struct {
	Message chat.Message `json:"message"`
}

// decodeSendMsg reads {"user": id, "conv": id, "message": string,
// "client_id": optional string}, naming every missing, mistyped or invalid
// field the way Ecto's changeset errors do, all at once. Ids are positive
// integers: a RecipientID of 0 would tell the chat service to skip its
// recipient check, so the socket never passes one.
func decodeSendMsg(payload json.RawMessage) (chat.SendInput, error) {
	m, err := payloadFields(payload)
	if err != nil {
		return chat.SendInput{}, err
	}
	fe := chat.FieldErrors{}
	var in chat.SendInput
	decodeID(m, "user", &in.RecipientID, fe)
	decodeID(m, "conv", &in.ConversationID, fe)
	decodeString(m, fieldMessage, &in.Content, fe)
	if raw, ok := m["client_id"]; ok && string(raw) != jsonNull {
		decodeString(m, "client_id", &in.ClientID, fe)
	}
	// The chat service's rules on the values read, for the fields whose
	// type was right (a mistyped one reads as "", which it would call
	// blank).
	if err := asPayloadFields(chat.ValidateSend(in.Content, in.ClientID)); err != nil {
		for field, msgs := range chat.AsError(err).Fields {
			if _, bad := fe[field]; !bad {
				fe[field] = msgs
			}
		}
	}
	if err := fe.Err(); err != nil {
		return chat.SendInput{}, err
	}
	return in, nil
}

// fieldMessage is send_msg's name for what the chat service calls
// "content".
const fieldMessage = "message"

// asPayloadFields names the chat service's "content" errors after the
// payload field they are about, "message", so that a field has one name
// in every error about it.
func asPayloadFields(err error) error {
	var e *chat.Error
	if !errors.As(err, &e) || e.Fields["content"] == nil {
		return err
	}
	fields := maps.Clone(e.Fields)
	fields[fieldMessage] = append(fields[fieldMessage], fields["content"]...)
	delete(fields, "content")
	return &chat.Error{Kind: e.Kind, Message: e.Message, Fields: fields}
}

// payloadFields reads an event's payload as a JSON object.
func payloadFields(payload json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil || m == nil {
		return nil, chat.FieldError("payload", "is invalid")
	}
	return m, nil
}

// decodeID decodes m[name] into dst: absent or null is "can't be blank";
// anything but a positive integer (0, -1, 1.5, "2", an object) "is
// invalid".
func decodeID(m map[string]json.RawMessage, name string, dst *int, fe chat.FieldErrors) {
	raw, ok := present(m, name, fe)
	if !ok {
		return
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n <= 0 {
		fe.Add(name, "is invalid")
		return
	}
	*dst = n
}

// decodeString decodes m[name] into dst: absent or null is "can't be
// blank", any other type "is invalid".
func decodeString(m map[string]json.RawMessage, name string, dst *string, fe chat.FieldErrors) {
	raw, ok := present(m, name, fe)
	if !ok {
		return
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		fe.Add(name, "is invalid")
	}
}

// present returns m[name], or records "can't be blank" if it is absent or
// null.
func present(m map[string]json.RawMessage, name string, fe chat.FieldErrors) (json.RawMessage, bool) {
	raw, ok := m[name]
	if !ok || string(raw) == jsonNull {
		fe.Add(name, "can't be blank")
		return nil, false
	}
	return raw, true
}
