package realtime

import (
	"encoding/json"
	"testing"
)

// TestTypingAndRead: typing is relayed to the other participant at most
// once per 2 s; a read mark reaches the other participant and the reader's
// other devices, not the socket that marked it; strangers get not found.
func TestTypingAndRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clock := &fakeClock{}
		ts := startServer(t, b, Config{now: clock.now})
		ann, annTok := b.NewUser(t)
		bob, bobTok := b.NewUser(t)
		_, cidTok := b.NewUser(t)
		conv := b.NewConversation(t, ann, bob)
		a, a2, bb, cc := ts.dial(t, annTok, vsn2), ts.dial(t, annTok, vsn2), ts.dial(t, bobTok, vsn2), ts.dial(t, cidTok, vsn2)
		ja, ja2, jb, jc := a.join(topicChat), a2.join(topicChat), bb.join(topicChat), cc.join(topicChat)

		ref := a.push(ja, topicChat, eventTyping, map[string]any{"conv": conv})
		a.expectReply(ja, ref, topicChat, "ok")
		var typing typingPush
		if err := json.Unmarshal(bb.expect(jb, nil, topicChat, eventTyping).Payload, &typing); err != nil ||
			typing != (typingPush{ConversationID: conv, UserID: ann}) {
			t.Fatalf("bob got typing %+v (%v)", typing, err)
		}
		// Again within 2 s: ok, not relayed; after 2 s, relayed.
		ref = a.push(ja, topicChat, eventTyping, map[string]any{"conv": conv})
		a.expectReply(ja, ref, topicChat, "ok")
		bb.heartbeat()
		clock.advance(typingEvery)
		ref = a.push(ja, topicChat, eventTyping, map[string]any{"conv": conv})
		a.expectReply(ja, ref, topicChat, "ok")
		bb.expect(jb, nil, topicChat, eventTyping)
		ref = cc.push(jc, topicChat, eventTyping, map[string]any{"conv": conv})
		if e := errorResponseOf(t, cc.expectReply(jc, ref, topicChat, "error")); e.Reason != "not found" {
			t.Fatalf("a stranger typing: %+v", e)
		}

		m := send(t, b, bob, conv, "read me")
		a.expectMessage(ja)
		a2.expectMessage(ja2)
		bb.expectMessage(jb) // the sender's own socket: the send came over REST
		ref = a.push(ja, topicChat, eventRead, map[string]any{"conv": conv, "message_id": m.ID})
		a.expectReply(ja, ref, topicChat, "ok")
		want := readPush{ConversationID: conv, UserID: ann, MessageID: m.ID}
		for _, c := range []struct {
			c  *client
			jr string
		}{{bb, jb}, {a2, ja2}} {
			var got readPush
			if err := json.Unmarshal(c.c.expect(c.jr, nil, topicChat, eventRead).Payload, &got); err != nil || got != want {
				t.Fatalf("read push %+v (%v), want %+v", got, err, want)
			}
		}
		a.heartbeat() // the marking socket got only its reply
		ref = a.push(ja, topicChat, eventRead, map[string]any{"conv": conv, "message_id": "x"})
		if e := errorResponseOf(t, a.expectReply(ja, ref, topicChat, "error")); e.Errors["message_id"] == nil {
			t.Fatalf("a bad message_id: %+v", e)
		}
	})
}
