package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
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

// join accepts any payload: the user comes from the socket's token.
func (roomChat) join(context.Context, *socket, json.RawMessage) (any, error) {
	return emptyObject, nil
}

func (rc roomChat) handleIn(ctx context.Context, s *socket, event string, payload json.RawMessage) (any, error) {
	if event != eventSendMsg {
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
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil || m == nil {
		return chat.SendInput{}, chat.FieldError("payload", "is invalid")
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
