package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// vsn is a Phoenix serializer, chosen by the client's ?vsn= parameter.
type vsn uint8

const (
	vsn1 vsn = iota // V1: {"topic","event","payload","ref","join_ref"}
	vsn2            // V2: [join_ref, ref, topic, event, payload]
)

// parseVsn maps ?vsn= to a serializer the way Phoenix's "~> 1.0.0" and
// "~> 2.0.0" requirements do; an absent vsn means 1.0.0, as in Phoenix.
func parseVsn(s string) (vsn, bool) {
	switch {
	case s == "" || strings.HasPrefix(s, "1.0."):
		return vsn1, true
	case strings.HasPrefix(s, "2.0."):
		return vsn2, true
	}
	return 0, false
}

// jsonNull is the JSON text of an absent ref.
const jsonNull = "null"

// frame is one Phoenix message. joinRef and ref hold JSON text (a string
// literal, a number, or null) rather than Go strings, so that replies echo
// what the client sent without re-encoding it on every reply.
type frame struct {
	joinRef string
	ref     string
	topic   string
	event   string
	payload json.RawMessage
}

// errBadFrame is any frame that is not valid JSON of the serializer's shape;
// the socket is closed with 1007.
var errBadFrame = errors.New("realtime: malformed frame")

// decodeFrame decodes one text message with serializer v. The result never
// aliases data, so the caller may reuse its buffer.
func decodeFrame(v vsn, data []byte) (frame, error) {
	// Browsers refuse text frames that are not UTF-8; checking here also
	// keeps every string we echo valid.
	if !utf8.Valid(data) {
		return frame{}, errBadFrame
	}
	if v == vsn2 {
		var parts []json.RawMessage
		// Phoenix's V2 serializer tolerates extra elements; this server
		// holds clients to exactly five, as the protocol documents.
		if err := json.Unmarshal(data, &parts); err != nil || len(parts) != 5 {
			return frame{}, errBadFrame
		}
		return newFrame(parts[0], parts[1], parts[2], parts[3], parts[4])
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return frame{}, errBadFrame
	}
	// Like Phoenix's Message.from_map!/1: join_ref alone may be missing.
	topic, ok1 := m["topic"]
	event, ok2 := m["event"]
	payload, ok3 := m["payload"]
	ref, ok4 := m["ref"]
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return frame{}, errBadFrame
	}
	joinRef, ok := m["join_ref"]
	if !ok {
		joinRef = json.RawMessage(jsonNull)
	}
	return newFrame(joinRef, ref, topic, event, payload)
}

func newFrame(joinRef, ref, topic, event, payload json.RawMessage) (frame, error) {
	f := frame{payload: payload}
	var ok1, ok2, ok3, ok4 bool
	f.joinRef, ok1 = canonicalRef(joinRef)
	f.ref, ok2 = canonicalRef(ref)
	f.topic, ok3 = jsonString(topic)
	f.event, ok4 = jsonString(event)
	if !ok1 || !ok2 || !ok3 || !ok4 || len(payload) == 0 {
		return frame{}, errBadFrame
	}
	return f, nil
}

// canonicalRef returns a ref's JSON text: strings re-encoded (so escapes are
// normalised), numbers as written, null; anything else is malformed.
func canonicalRef(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == 'n':
		return jsonNull, true
	case c == '"':
		s, ok := jsonString(raw)
		return string(appendQuoted(nil, s)), ok
	case c == '-' || c >= '0' && c <= '9':
		return string(raw), true
	}
	return "", false
}

func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// appendFrame appends f as serializer v writes it. V2 writes the join_ref
// first and V1 writes it last; pushParts relies on that to splice it in.
func appendFrame(dst []byte, v vsn, f *frame) []byte {
	if v == vsn2 {
		dst = append(dst, '[')
		dst = append(dst, f.joinRef...)
		dst = append(dst, ',')
		dst = append(dst, f.ref...)
		dst = append(dst, ',')
		dst = appendQuoted(dst, f.topic)
		dst = append(dst, ',')
		dst = appendQuoted(dst, f.event)
		dst = append(dst, ',')
		dst = append(dst, f.payload...)
		return append(dst, ']')
	}
	dst = append(dst, `{"topic":`...)
	dst = appendQuoted(dst, f.topic)
	dst = append(dst, `,"event":`...)
	dst = appendQuoted(dst, f.event)
	dst = append(dst, `,"payload":`...)
	dst = append(dst, f.payload...)
	dst = append(dst, `,"ref":`...)
	dst = append(dst, f.ref...)
	dst = append(dst, `,"join_ref":`...)
	dst = append(dst, f.joinRef...)
	return append(dst, '}')
}

// pushParts encodes a server push (ref null) once for every socket using
// serializer v: each socket's frame is head + its join_ref + tail.
func pushParts(v vsn, topic, event string, payload []byte) (head, tail []byte) {
	b := appendFrame(nil, v, &frame{ref: jsonNull, topic: topic, event: event, payload: payload})
	if v == vsn2 {
		return b[:1:1], b[1:] // "[" | ",null,topic,event,payload]"
	}
	return b[: len(b)-1 : len(b)-1], b[len(b)-1:] // `{..."join_ref":` | "}"
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends s as a JSON string. Hand-written because replies and
// pushes are built by appending into one buffer, and encoding/json would
// allocate per string.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// marshalJSON is json.Marshal without HTML escaping, as Phoenix's Jason
// writes JSON: "<3" stays "<3" on the wire.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
