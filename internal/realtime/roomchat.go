package realtime

import (
	"context"
	"encoding/json"
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
		return nil, err
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

// decodeSendMsg reads {"user": int, "conv": int, "message": string},
// naming every missing or mistyped field the way Ecto's changeset errors
// do.
func decodeSendMsg(payload json.RawMessage) (chat.SendInput, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil || m == nil {
		return chat.SendInput{}, chat.FieldError("payload", "is invalid")
	}
	fe := chat.FieldErrors{}
	var in chat.SendInput
	decodeField(m, "user", &in.RecipientID, fe)
	decodeField(m, "conv", &in.ConversationID, fe)
	decodeField(m, "message", &in.Content, fe)
	if err := fe.Err(); err != nil {
		return chat.SendInput{}, err
	}
	return in, nil
}

// decodeField decodes m[name] into dst: absent or null is "can't be blank",
// any other mismatch (a string for an id, 1.5, an object) "is invalid".
func decodeField[T int | string](m map[string]json.RawMessage, name string, dst *T, fe chat.FieldErrors) {
	raw, ok := m[name]
	if !ok || string(raw) == jsonNull {
		fe.Add(name, "can't be blank")
		return
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		fe.Add(name, "is invalid")
	}
}
