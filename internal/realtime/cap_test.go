package realtime

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/chat"
)

// TestSocketCap: a user holds at most MaxSocketsPerUser sockets, however
// many connects race (1 000 were opened with one token before); the next
// is refused 429 {"message": "too many sockets"} before any upgrade.
// Other users are not counted, and a closed socket frees its place.
func TestSocketCap(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{MaxSocketsPerUser: 3})
	_, token := b.NewUser(t)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []*websocket.Conn
	refused := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, resp, err := ts.tryDial(query(token, vsn2), nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				open = append(open, conn)
			case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
				refused++
			default:
				t.Errorf("dial: %v %v", resp, err)
			}
		}()
	}
	wg.Wait()
	if len(open) != 3 || refused != 5 {
		t.Fatalf("%d sockets open and %d refused of 8 connects, want 3 and 5", len(open), refused)
	}

	resp, err := (&http.Client{Transport: ts.transport}).Get(ts.ts.URL + "/socket/websocket?" + query(token, vsn2).Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct{ Message string }
	if resp.StatusCode != http.StatusTooManyRequests || json.Unmarshal(body, &got) != nil || got.Message != "too many sockets" {
		t.Fatalf("over the cap: %d %s", resp.StatusCode, body)
	}

	_, _, other := ts.user(t, vsn2)
	other.heartbeat()

	open[0].Close(websocket.StatusNormalClosure, "")
	for _, c := range open[1:] {
		t.Cleanup(func() { c.CloseNow() })
	}
	eventually(t, "a place to free up", func() bool {
		conn, _, err := ts.tryDial(query(token, vsn2), nil)
		if err == nil {
			t.Cleanup(func() { conn.CloseNow() })
		}
		return err == nil
	})
}

// refusingSender refuses every send as over the sender's budget, as the
// chat service does (chat.SendMessage's KindRateLimited).
type refusingSender struct{ Sender }

func (refusingSender) SendMessage(context.Context, chat.SendInput) (chat.Message, error) {
	return chat.Message{}, &chat.Error{Kind: chat.KindRateLimited, Message: "rate limited", RetryAfter: 250 * time.Millisecond}
}

// TestSendMsgRateLimited: a send over the budget is answered
// {"reason": "rate limited", "retry_after_ms": N}, and the socket goes on.
func TestSendMsgRateLimited(t *testing.T) {
	b := newFakeBackend(t)
	b.Chat = refusingSender{b.Chat}
	ts := startServer(t, b, Config{})
	a, _, c := ts.user(t, vsn2)
	other, _ := b.NewUser(t)
	conv := b.NewConversation(t, a, other) // before the join: no conversation_created push
	jr := c.join(topicChat)
	ref := c.sendMsg(jr, other, conv, "hi")
	if got := string(c.expectReply(jr, ref, topicChat, "error")); got != `{"reason":"rate limited","retry_after_ms":250}` {
		t.Fatalf("reply %s", got)
	}
	c.heartbeat()
}
