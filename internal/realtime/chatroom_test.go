package realtime

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
)

// TestChatRoom is the seed's ChatRoomTest: two users join room:chat, one
// sends, the other receives, and the reply goes back.
func TestChatRoom(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		a, _, ca := ts.user(t, vsn2)
		bID, _, cb := ts.user(t, vsn2)
		conv := b.NewConversation(t, a, bID)
		ja, jb := ca.join(topicChat), cb.join(topicChat)

		ref := ca.sendMsg(ja, bID, conv, "Hi! This is message")
		got := cb.expectMessage(jb)
		sent := decodeMessage(t, ca.expectReply(ja, ref, topicChat, "ok"))
		if got.Content != "Hi! This is message" || got.SenderID != a || got.ConversationID != conv || got.ID == 0 {
			t.Errorf("received %+v", got)
		}
		if !sameMessage(got, sent) {
			t.Errorf("reply %+v differs from push %+v", sent, got)
		}

		ref = cb.sendMsg(jb, a, conv, "This is a reply")
		reply := ca.expectMessage(ja)
		if reply.Content != "This is a reply" || reply.SenderID != bID {
			t.Errorf("reply received %+v", reply)
		}
		cb.expectReply(jb, ref, topicChat, "ok")
		if b.Stored != nil {
			for _, m := range []chat.Message{got, reply} {
				if content, ok := b.Stored(t, m.ID); !ok || content != m.Content {
					t.Errorf("message %d not persisted (%q, %v)", m.ID, content, ok)
				}
			}
		}
	})
}

// TestMultiDevice: every socket of the recipient and the sender's other
// sockets get the push; the sending socket gets only its reply.
func TestMultiDevice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		a, tokA, a1 := ts.user(t, vsn2)
		a2 := ts.dial(t, tokA, vsn1) // devices may differ in serializer
		bID, tokB, b1 := ts.user(t, vsn2)
		b2 := ts.dial(t, tokB, vsn2)
		conv := b.NewConversation(t, a, bID)
		ja1, ja2, jb1, jb2 := a1.join(topicChat), a2.join(topicChat), b1.join(topicChat), b2.join(topicChat)

		ref := a1.sendMsg(ja1, bID, conv, "to every device")
		// The push is queued before the reply, so a push to the sending
		// socket would arrive first.
		sent := decodeMessage(t, a1.expectReply(ja1, ref, topicChat, "ok"))
		for _, r := range []struct {
			c  *client
			jr string
		}{{b1, jb1}, {b2, jb2}, {a2, ja2}} {
			if got := r.c.expectMessage(r.jr); !sameMessage(got, sent) {
				t.Errorf("pushed %+v, want %+v", got, sent)
			}
		}
		a1.heartbeat()
	})
}

// TestSendMsgDomainErrors: the chat service's refusals reach the client
// through errorResponse.
func TestSendMsgDomainErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		a, _, ca := ts.user(t, vsn2)
		bID, _ := b.NewUser(t)
		stranger, _ := b.NewUser(t)
		conv := b.NewConversation(t, bID, stranger)
		own := b.NewConversation(t, a, bID)
		jr := ca.join(topicChat)

		tests := []struct {
			name    string
			to      int
			conv    int
			text    string
			reasons []string
			fields  bool
		}{
			{"nok, conversation does not exist", bID, 999999, "hi", []string{"not found"}, false},
			{"nok, not a participant", bID, conv, "hi", []string{"not found", "forbidden"}, false},
			{"nok, empty message", bID, own, "", []string{"invalid"}, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ca.t = t
				ref := ca.sendMsg(jr, tt.to, tt.conv, tt.text)
				e := errorResponseOf(t, ca.expectReply(jr, ref, topicChat, "error"))
				if !slices.Contains(tt.reasons, e.Reason) {
					t.Errorf("reason %q, want one of %q", e.Reason, tt.reasons)
				}
				if tt.fields != (len(e.Errors) > 0) {
					t.Errorf("errors %v, want fields: %v", e.Errors, tt.fields)
				}
			})
		}
	})
}

// blockingSender stands for a store that hangs.
type blockingSender struct{ Sender }

func (blockingSender) SendMessage(ctx context.Context, _ chat.SendInput) (chat.Message, error) {
	<-ctx.Done()
	return chat.Message{}, ctx.Err()
}

// TestSlowSend: a hung SendMessage is cut off by SendTimeout, answered
// "unavailable", and the socket goes on answering heartbeats.
func TestSlowSend(t *testing.T) {
	b := newFakeBackend(t)
	b.Chat = blockingSender{b.Chat}
	ts := startServer(t, b, Config{SendTimeout: 50 * time.Millisecond})
	_, _, c := ts.user(t, vsn2)
	jr := c.join(topicChat)
	ref := c.sendMsg(jr, 2, 1, "hello?")
	hb := c.push(nil, topicPhoenix, eventHeartbeat, map[string]any{})
	e := errorResponseOf(t, c.expectReply(jr, ref, topicChat, "error"))
	if e.Reason != "unavailable" {
		t.Errorf("reason %q, want unavailable", e.Reason)
	}
	c.expectReply(nil, hb, topicPhoenix, "ok")
}

// panickingSender stands for a bug in the chat service.
type panickingSender struct{ Sender }

func (panickingSender) SendMessage(context.Context, chat.SendInput) (chat.Message, error) {
	panic("boom")
}

// TestChannelPanic: a panic crashes only the channel, as a crashed Phoenix
// channel process would: phx_error, then the socket carries on.
func TestChannelPanic(t *testing.T) {
	b := newFakeBackend(t)
	b.Chat = panickingSender{b.Chat}
	ts := startServer(t, b, Config{})
	uid, _, c := ts.user(t, vsn2)
	jr := c.join(topicChat)
	c.sendMsg(jr, 2, 1, "hi")
	c.expect(jr, jr, topicChat, eventError)
	if n := len(ts.socketsOf(uid)); n != 0 {
		t.Errorf("crashed channel still in the hub (%d)", n)
	}
	c.heartbeat()
	c.join(topicChat)
}

// TestAsPayloadFields: the chat service's "content" is send_msg's
// "message" in every error reply; other fields and errors pass unchanged.
func TestAsPayloadFields(t *testing.T) {
	got := chat.AsError(asPayloadFields(&chat.Error{Kind: chat.KindInvalid, Fields: map[string][]string{
		"content": {"can't be blank"}, "user": {"is not the other participant"}}}))
	want := map[string][]string{"message": {"can't be blank"}, "user": {"is not the other participant"}}
	if got.Kind != chat.KindInvalid || !equalFields(got.Fields, want) {
		t.Errorf("got %+v, want fields %v", got, want)
	}
	if err := asPayloadFields(chat.ErrNotFound); err != chat.ErrNotFound {
		t.Errorf("not found became %v", err)
	}
}
