package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Frame is one Phoenix Channels V2 message, [join_ref, ref, topic, event,
// payload]. An empty JoinRef or Ref is JSON null on the wire.
type Frame struct {
	JoinRef string
	Ref     string
	Topic   string
	Event   string
	Payload json.RawMessage // nil encodes as {}
}

var errBadFrame = errors.New("chatbench: malformed V2 frame")

// AppendFrame appends f's V2 encoding to dst.
func AppendFrame(dst []byte, f Frame) []byte {
	dst = append(dst, '[')
	dst = appendRef(dst, f.JoinRef)
	dst = append(dst, ',')
	dst = appendRef(dst, f.Ref)
	dst = append(dst, ',')
	dst = appendJSONString(dst, f.Topic)
	dst = append(dst, ',')
	dst = appendJSONString(dst, f.Event)
	dst = append(dst, ',')
	if len(f.Payload) == 0 {
		dst = append(dst, "{}"...)
	} else {
		dst = append(dst, f.Payload...)
	}
	return append(dst, ']')
}

func appendRef(dst []byte, ref string) []byte {
	if ref == "" {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, ref)
}

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}

// DecodeFrame parses a V2 frame. Refs may be strings, numbers (kept as
// their JSON text) or null (""); topic and event must be strings.
func DecodeFrame(data []byte) (Frame, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil || len(parts) != 5 {
		return Frame{}, errBadFrame
	}
	var f Frame
	var err error
	if f.JoinRef, err = decodeRef(parts[0]); err != nil {
		return Frame{}, err
	}
	if f.Ref, err = decodeRef(parts[1]); err != nil {
		return Frame{}, err
	}
	if json.Unmarshal(parts[2], &f.Topic) != nil || json.Unmarshal(parts[3], &f.Event) != nil {
		return Frame{}, errBadFrame
	}
	if len(parts[2]) == 0 || parts[2][0] != '"' || parts[3][0] != '"' {
		return Frame{}, errBadFrame
	}
	f.Payload = parts[4]
	return f, nil
}

func decodeRef(raw json.RawMessage) (string, error) {
	switch {
	case string(raw) == "null":
		return "", nil
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errBadFrame
		}
		return s, nil
	default:
		if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
			return "", errBadFrame
		}
		return string(raw), nil
	}
}

// Reply is the payload of a phx_reply.
type Reply struct {
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response"`
}

// Reason is the "reason" of an error reply's response, or the status.
func (r Reply) Reason() string {
	var e struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(r.Response, &e) == nil && e.Reason != "" {
		return e.Reason
	}
	return r.Status
}

// PushedMessage is the payload of receive_msg (and of a send_msg ok reply's
// response).
type PushedMessage struct {
	Message struct {
		ID             int64  `json:"id"`
		Content        string `json:"content"`
		SenderID       int    `json:"sender_id"`
		ConversationID int    `json:"conversation_id"`
	} `json:"message"`
}

func decodeReply(raw json.RawMessage) (Reply, error) {
	var r Reply
	if err := json.Unmarshal(raw, &r); err != nil {
		return Reply{}, fmt.Errorf("reply payload: %w", err)
	}
	return r, nil
}
