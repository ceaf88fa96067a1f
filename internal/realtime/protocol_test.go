package realtime

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
)

// TestProtocol runs Phoenix's socket-level behaviour with both serializers.
func TestProtocol(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, ts *testServer, c *client, uid int)
	}{
		{"ok, join room:chat", func(t *testing.T, ts *testServer, c *client, uid int) {
			c.sendFrame("1", "1", topicChat, eventJoin, map[string]any{"any": "payload"})
			if resp := c.expectReply("1", "1", topicChat, "ok"); string(resp) != "{}" {
				t.Errorf("join response %s, want {}", resp)
			}
		}},
		{"ok, heartbeat", func(t *testing.T, ts *testServer, c *client, uid int) {
			c.sendFrame(nil, "5", topicPhoenix, eventHeartbeat, map[string]any{})
			if resp := c.expectReply(nil, "5", topicPhoenix, "ok"); string(resp) != "{}" {
				t.Errorf("heartbeat response %s, want {}", resp)
			}
		}},
		{"nok, event on a topic not joined", func(t *testing.T, ts *testServer, c *client, uid int) {
			c.sendFrame("3", "4", topicChat, eventSendMsg, map[string]any{})
			resp := c.expectReply(nil, "4", topicChat, "error")
			if e := errorResponseOf(t, resp); e.Reason != "unmatched topic" {
				t.Errorf("reason %q, want unmatched topic", e.Reason)
			}
		}},
		{"nok, join of a topic no channel handles", func(t *testing.T, ts *testServer, c *client, uid int) {
			c.sendFrame("1", "1", "room:other", eventJoin, map[string]any{})
			resp := c.expectReply(nil, "1", "room:other", "error")
			if e := errorResponseOf(t, resp); e.Reason != "unmatched topic" {
				t.Errorf("reason %q, want unmatched topic", e.Reason)
			}
		}},
		{"nok, non-heartbeat event on phoenix", func(t *testing.T, ts *testServer, c *client, uid int) {
			c.sendFrame(nil, "2", topicPhoenix, "ping", map[string]any{})
			c.expectReply(nil, "2", topicPhoenix, "error")
		}},
		{"ok, leave replies ok then phx_close", func(t *testing.T, ts *testServer, c *client, uid int) {
			jr := c.join(topicChat)
			ref := c.push(jr, topicChat, eventLeave, map[string]any{})
			c.expectReply(jr, ref, topicChat, "ok")
			c.expect(jr, jr, topicChat, eventClose)
			ref = c.push(jr, topicChat, eventSendMsg, map[string]any{})
			c.expectReply(nil, ref, topicChat, "error")
		}},
		{"ok, rejoin closes the old channel with its join_ref", func(t *testing.T, ts *testServer, c *client, uid int) {
			old := c.join(topicChat)
			ref := c.nextRef()
			c.sendFrame(ref, ref, topicChat, eventJoin, map[string]any{})
			c.expect(old, old, topicChat, eventClose)
			c.expectReply(ref, ref, topicChat, "ok")
			// Pushes carry the new join_ref, and there is one per socket.
			ts.publish(chat.Message{ID: 7, Content: "x"}, uid)
			if got := c.expectMessage(ref); got.ID != 7 {
				t.Errorf("pushed message %d, want 7", got.ID)
			}
			c.heartbeat()
		}},
		{"nok, unknown event", func(t *testing.T, ts *testServer, c *client, uid int) {
			jr := c.join(topicChat)
			ref := c.push(jr, topicChat, "dance", map[string]any{})
			resp := c.expectReply(jr, ref, topicChat, "error")
			if string(resp) != `{"reason":"unknown event"}` {
				t.Errorf("response %s", resp)
			}
		}},
		{"ok, numeric refs are echoed as numbers", func(t *testing.T, ts *testServer, c *client, uid int) {
			c.sendFrame(nil, 42, topicPhoenix, eventHeartbeat, map[string]any{})
			c.expectReply(nil, 42, topicPhoenix, "ok")
		}},
		{"ok, a channel keeps working after errors", func(t *testing.T, ts *testServer, c *client, uid int) {
			jr := c.join(topicChat)
			ref := c.push(jr, topicChat, eventSendMsg, map[string]any{"conv": "x"})
			c.expectReply(jr, ref, topicChat, "error")
			ref = c.push(jr, topicChat, "dance", nil)
			c.expectReply(jr, ref, topicChat, "error")
			c.heartbeat()
		}},
	}
	for _, v := range vsns {
		t.Run(v.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					b := newFakeBackend(t)
					ts := startServer(t, b, Config{})
					uid, _, c := ts.user(t, v.v)
					tt.run(t, ts, c, uid)
				})
			}
		})
	}
}

// TestSendMsgPayloadErrors checks that a malformed send_msg payload is
// answered with the field it got wrong, before the chat service is called.
func TestSendMsgPayloadErrors(t *testing.T) {
	tests := []struct {
		name    string
		payload any
		want    map[string][]string
	}{
		{"nok, conv is a string", map[string]any{"user": 2, "conv": "x", "message": "hi"}, map[string][]string{"conv": {"is invalid"}}},
		{"nok, user is missing", map[string]any{"conv": 1, "message": "hi"}, map[string][]string{"user": {"can't be blank"}}},
		{"nok, user is null", map[string]any{"user": nil, "conv": 1, "message": "hi"}, map[string][]string{"user": {"can't be blank"}}},
		{"nok, user is fractional", map[string]any{"user": 1.5, "conv": 1, "message": "hi"}, map[string][]string{"user": {"is invalid"}}},
		{"nok, message is a number", map[string]any{"user": 2, "conv": 1, "message": 5}, map[string][]string{"message": {"is invalid"}}},
		{"nok, everything wrong", map[string]any{"conv": []int{1}, "message": map[string]any{}}, map[string][]string{
			"user": {"can't be blank"}, "conv": {"is invalid"}, "message": {"is invalid"}}},
		{"nok, payload is not an object", []int{1, 2}, map[string][]string{"payload": {"is invalid"}}},
		// One name per field, whichever check finds it, and a bad id hides
		// no error of the text.
		{"nok, message is missing", map[string]any{"user": 2, "conv": 1}, map[string][]string{"message": {"can't be blank"}}},
		{"nok, message is blank", map[string]any{"user": 2, "conv": 1, "message": "   "}, map[string][]string{"message": {"can't be blank"}}},
		{"nok, message too long and conv a string", map[string]any{"user": 2, "conv": "x", "message": strings.Repeat("é", chat.MaxContentLen+1)},
			map[string][]string{"conv": {"is invalid"}, "message": {"should be at most 4000 character(s)"}}},
		{"nok, blank message and client_id a number", map[string]any{"user": 2, "conv": 1, "message": " ", "client_id": 5},
			map[string][]string{"message": {"can't be blank"}, "client_id": {"is invalid"}}},
		{"nok, client_id too long and user missing", map[string]any{"conv": 1, "message": "hi", "client_id": strings.Repeat("k", 65)},
			map[string][]string{"user": {"can't be blank"}, "client_id": {"should be 1 to 64 printable characters"}}},
	}
	for _, v := range vsns {
		t.Run(v.name, func(t *testing.T) {
			ts := startServer(t, newFakeBackend(t), Config{})
			_, _, c := ts.user(t, v.v)
			jr := c.join(topicChat)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c.t = t
					ref := c.push(jr, topicChat, eventSendMsg, tt.payload)
					e := errorResponseOf(t, c.expectReply(jr, ref, topicChat, "error"))
					if e.Reason != "invalid" {
						t.Errorf("reason %q, want invalid", e.Reason)
					}
					if !equalFields(e.Errors, tt.want) {
						t.Errorf("errors %v, want %v", e.Errors, tt.want)
					}
				})
			}
		})
	}
}

// TestWireFormat pins exact bytes, since clients parse them.
func TestWireFormat(t *testing.T) {
	tests := []struct {
		name string
		v    vsn
		want string
	}{
		{"V2 heartbeat reply", vsn2, `[null,"5","phoenix","phx_reply",{"status":"ok","response":{}}]`},
		{"V1 heartbeat reply", vsn1, `{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"5","join_ref":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, newFakeBackend(t), Config{})
			_, _, c := ts.user(t, tt.v)
			c.sendFrame(nil, "5", topicPhoenix, eventHeartbeat, map[string]any{})
			got, err := c.readRaw()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestPushWireFormat pins a receive_msg push in both serializers.
func TestPushWireFormat(t *testing.T) {
	date := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	m := chat.Message{ID: 9, Content: "<3 \"hi\"", Date: date, SenderID: 1, ConversationID: 3}
	payload := `{"message":{"id":9,"content":"<3 \"hi\"","date":"2024-05-01T12:00:00Z","sender_id":1,"conversation_id":3},"prev_id":8}`
	tests := []struct {
		name string
		v    vsn
		want string
	}{
		{"V2", vsn2, `["1",null,"room:chat","receive_msg",` + payload + `]`},
		{"V1", vsn1, `{"topic":"room:chat","event":"receive_msg","payload":` + payload + `,"ref":null,"join_ref":"1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, newFakeBackend(t), Config{})
			uid, _, c := ts.user(t, tt.v)
			c.join(topicChat)
			ts.srv.Handle([]chat.Event{chat.MessageStored{Message: m, Prev: 8, To: []int{uid}}})
			got, err := c.readRaw()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			var v any
			if err := json.Unmarshal(got, &v); err != nil {
				t.Errorf("push is not JSON: %v", err)
			}
		})
	}
}
