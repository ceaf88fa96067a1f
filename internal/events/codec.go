package events

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
)

// envelope is one broker payload: a node's events, numbered so that a
// receiver notices a lost one, and when the oldest of them was announced
// (Unix microseconds; 0 from a node that did not say), so that a receiver
// measures the lag.
type envelope struct {
	Node   string     `json:"n"`
	Seq    uint64     `json:"s"`
	At     int64      `json:"t,omitempty"`
	Events []wireItem `json:"e"`
}

// wireItem is one event on the wire. Kinds: "m" a message with its
// content, "mr" a message without it (too large for one payload; the
// receiver loads it), "se" ended sessions, "cc" a new conversation, "rd" a
// read mark, "ty" typing, "pc" presence changes, "ps" a part of a node's
// presence state, "sy" a presence sync request, "na" a node's heartbeat,
// "nl" a node leaving.
type wireItem struct {
	Kind string `json:"k"`
	// m
	Message *chat.Message `json:"m,omitempty"`
	// mr: id, conversation, sender; m and mr: recipients and the
	// conversation's previous message
	Prev   int   `json:"p,omitempty"`
	ID     int   `json:"id,omitempty"`
	Conv   int   `json:"c,omitempty"`
	Sender int   `json:"from,omitempty"`
	To     []int `json:"to,omitempty"`
	// se, rd, ty: the user; se: the token
	User  int    `json:"u,omitempty"`
	Token string `json:"t,omitempty"`
	Gen   int    `json:"g,omitempty"`
	// cc
	Conversation *chat.Conversation `json:"cv,omitempty"`
	// rd: the message read up to
	Read int `json:"r,omitempty"`
	// pc, ps, sy, na, nl: nodes and presence
	Node   string              `json:"nd,omitempty"`
	From   string              `json:"fr,omitempty"`
	Joins  []chat.PresenceMeta `json:"j,omitempty"`
	Leaves []chat.PresenceMeta `json:"l,omitempty"`
	Final  bool                `json:"f,omitempty"`
	Count  int                 `json:"n,omitempty"`
}

// envelopeOverhead bounds an envelope's bytes besides its events.
const envelopeOverhead = 128

// encode packs events into as few payloads of at most max bytes as it
// can, numbering them from *seq after skipping lost numbers (batches
// dropped before they could be sent), so receivers see the gap; at is
// when the oldest of them was announced.
func encode(node string, seq *uint64, lost uint64, at time.Time, events []chat.Event, max int) [][]byte {
	*seq += lost
	var payloads [][]byte
	var items []wireItem
	size := envelopeOverhead + len(node)
	flush := func() {
		if len(items) == 0 {
			return
		}
		*seq++
		b, err := json.Marshal(envelope{Node: node, Seq: *seq, At: at.UnixMicro(), Events: items})
		if err == nil {
			payloads = append(payloads, b)
		}
		items, size = nil, envelopeOverhead+len(node)
	}
	for _, ev := range events {
		it, ok := toWire(ev)
		if !ok {
			continue
		}
		b, _ := json.Marshal(it)
		if len(b)+envelopeOverhead+len(node) > max && it.Kind == "m" {
			// A message too large for any payload travels without its
			// content.
			m := it.Message
			it = wireItem{Kind: "mr", ID: m.ID, Conv: m.ConversationID, Sender: m.SenderID, To: it.To, Prev: it.Prev}
			b, _ = json.Marshal(it)
		}
		if size+len(b)+1 > max {
			flush()
		}
		items = append(items, it)
		size += len(b) + 1
	}
	flush()
	return payloads
}

func toWire(ev chat.Event) (wireItem, bool) {
	switch e := ev.(type) {
	case chat.MessageStored:
		m := e.Message
		return wireItem{Kind: "m", Message: &m, To: e.To, Prev: e.Prev}, true
	case chat.SessionsEnded:
		return wireItem{Kind: "se", User: e.UserID, Token: e.TokenID, Gen: e.Generation}, true
	case chat.ConversationCreated:
		c := e.Conversation
		return wireItem{Kind: "cc", Conversation: &c, To: e.To}, true
	case chat.ReadMarked:
		return wireItem{Kind: "rd", Conv: e.ConversationID, User: e.UserID, Read: e.MessageID, To: e.To}, true
	case chat.Typing:
		return wireItem{Kind: "ty", Conv: e.ConversationID, User: e.UserID, To: e.To}, true
	case chat.PresenceChanged:
		return wireItem{Kind: "pc", Node: e.Node, Joins: e.Joins, Leaves: e.Leaves}, true
	case chat.PresenceState:
		return wireItem{Kind: "ps", Node: e.Node, Joins: e.Metas, Final: e.Final}, true
	case chat.PresenceSync:
		return wireItem{Kind: "sy", From: e.From, Node: e.Node}, true
	case chat.NodeAlive:
		return wireItem{Kind: "na", Node: e.Node, Count: e.Metas}, true
	case chat.NodeLeaving:
		return wireItem{Kind: "nl", Node: e.Node}, true
	}
	return wireItem{}, false
}

// decode reads a payload. Events of a kind it does not know (from a newer
// node) are skipped.
func decode(payload []byte) (envelope, []chat.Event, error) {
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return env, nil, err
	}
	if env.Node == "" || env.Seq == 0 {
		return env, nil, errors.New("events: envelope without node or sequence")
	}
	events := make([]chat.Event, 0, len(env.Events))
	for _, it := range env.Events {
		switch it.Kind {
		case "m":
			if it.Message != nil {
				m := *it.Message
				m.Date = m.Date.In(time.UTC)
				events = append(events, chat.MessageStored{Message: m, Prev: it.Prev, To: it.To})
			}
		case "mr":
			events = append(events, chat.MessageStored{
				Message: chat.Message{ID: it.ID, ConversationID: it.Conv, SenderID: it.Sender},
				Prev:    it.Prev, To: it.To, Elided: true})
		case "se":
			events = append(events, chat.SessionsEnded{UserID: it.User, TokenID: it.Token, Generation: it.Gen})
		case "cc":
			if it.Conversation != nil {
				events = append(events, chat.ConversationCreated{Conversation: *it.Conversation, To: it.To})
			}
		case "rd":
			events = append(events, chat.ReadMarked{ConversationID: it.Conv, UserID: it.User, MessageID: it.Read, To: it.To})
		case "ty":
			events = append(events, chat.Typing{ConversationID: it.Conv, UserID: it.User, To: it.To})
		case "pc":
			events = append(events, chat.PresenceChanged{Node: it.Node, Joins: it.Joins, Leaves: it.Leaves})
		case "ps":
			events = append(events, chat.PresenceState{Node: it.Node, Metas: it.Joins, Final: it.Final})
		case "sy":
			events = append(events, chat.PresenceSync{From: it.From, Node: it.Node})
		case "na":
			events = append(events, chat.NodeAlive{Node: it.Node, Metas: it.Count})
		case "nl":
			events = append(events, chat.NodeLeaving{Node: it.Node})
		}
	}
	return env, events, nil
}
