package realtime

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/chat"
)

// TestIdleTimeout: a silent socket is closed with 1001; one that sends
// heartbeats stays open.
func TestIdleTimeout(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{IdleTimeout: 300 * time.Millisecond})
	_, tok, silent := ts.user(t, vsn2)
	alive := ts.dial(t, tok, vsn2)
	alive.join(topicChat)

	done := make(chan struct{})
	go func() {
		// Heartbeats at a third of the timeout, as phoenix.js does at half.
		defer close(done)
		for range 12 {
			time.Sleep(100 * time.Millisecond)
			alive.heartbeat()
		}
	}()
	silent.expectClose(websocket.StatusGoingAway)
	<-done
	alive.heartbeat()
}

// TestShutdown: every socket, joined or not, is closed with 1001, the hub
// empties, and later connections are refused.
func TestShutdown(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	_, tok, c1 := ts.user(t, vsn2)
	c1.join(topicChat)
	c2 := ts.dial(t, tok, vsn1)
	c2.heartbeat()

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- ts.srv.Shutdown(ctx) }()
	c1.expectClose(websocket.StatusGoingAway)
	c2.expectClose(websocket.StatusGoingAway)
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !ts.hubEmpty() {
		t.Error("hub not empty after Shutdown")
	}
	_, resp, err := ts.tryDial(query(tok, vsn2), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Shutdown: %v %v, want 503", resp, err)
	}
}

// TestSlowConsumer: a client that stops reading is closed with 1008 while
// another client of the same user receives every push.
func TestSlowConsumer(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{OutboundQueue: 8, WriteTimeout: time.Minute})
	uid, tok, fast := ts.user(t, vsn2)
	jf := fast.join(topicChat)

	slow := ts.dial(t, tok, vsn2)
	slow.join(topicChat)
	if n := len(ts.socketsOf(uid)); n != 2 {
		t.Fatalf("%d sockets in the hub, want 2", n)
	}

	// Large pushes fill the kernel buffers quickly; the fast client reads
	// each before the next, so only the slow one can fall behind.
	content := strings.Repeat("x", 32<<10)
	deadline := time.Now().Add(waitTimeout)
	sent := 0
	for ; !anyClosing(ts.socketsOf(uid)) && time.Now().Before(deadline); sent++ {
		ts.publish(chat.Message{ID: sent + 1, Content: content}, uid)
		if m := fast.expectMessage(jf); m.ID != sent+1 {
			t.Fatalf("fast client got message %d, want %d", m.ID, sent+1)
		}
	}
	if !anyClosing(ts.socketsOf(uid)) {
		t.Fatalf("slow client not dropped after %d pushes", sent)
	}
	// The fast client still gets everything.
	for i := range 3 {
		ts.publish(chat.Message{ID: 1000 + i, Content: "after"}, uid)
		if m := fast.expectMessage(jf); m.ID != 1000+i {
			t.Fatalf("fast client got %d, want %d", m.ID, 1000+i)
		}
	}
	slow.expectClose(websocket.StatusPolicyViolation, websocket.StatusTryAgainLater)
	eventually(t, "slow socket to leave the hub", func() bool { return len(ts.socketsOf(uid)) == 1 })
}

// TestWriteTimeout: a client that stops reading is dropped once a write
// has waited WriteTimeout, long before its queue would be full.
func TestWriteTimeout(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{OutboundQueue: 1 << 20, WriteTimeout: 200 * time.Millisecond})
	uid, _, stalled := ts.user(t, vsn2)
	stalled.join(topicChat)
	content := strings.Repeat("x", 32<<10)
	deadline := time.Now().Add(waitTimeout)
	for i := 1; len(ts.socketsOf(uid)) > 0 && time.Now().Before(deadline); i++ {
		ts.publish(chat.Message{ID: i, Content: content}, uid)
		time.Sleep(time.Millisecond)
	}
	if n := len(ts.socketsOf(uid)); n != 0 {
		t.Fatalf("stalled socket still in the hub after %v", waitTimeout)
	}
}

// TestBadFrames: what no serializer can read closes only the socket that
// sent it, with the close code that names the problem.
func TestBadFrames(t *testing.T) {
	const maxFrame = 1 << 10
	tests := []struct {
		name string
		v    vsn
		typ  websocket.MessageType
		data []byte
		code websocket.StatusCode
	}{
		{"invalid JSON", vsn2, websocket.MessageText, []byte(`["1","1","room:chat"`), websocket.StatusInvalidFramePayloadData},
		{"four elements", vsn2, websocket.MessageText, []byte(`["1","1","room:chat","phx_join"]`), websocket.StatusInvalidFramePayloadData},
		{"topic not a string", vsn2, websocket.MessageText, []byte(`["1","1",7,"phx_join",{}]`), websocket.StatusInvalidFramePayloadData},
		{"an object on V2", vsn2, websocket.MessageText, []byte(`{"topic":"phoenix"}`), websocket.StatusInvalidFramePayloadData},
		{"V1 without ref", vsn1, websocket.MessageText, []byte(`{"topic":"phoenix","event":"heartbeat","payload":{}}`), websocket.StatusInvalidFramePayloadData},
		{"an array on V1", vsn1, websocket.MessageText, []byte(`[null,"1","phoenix","heartbeat",{}]`), websocket.StatusInvalidFramePayloadData},
		{"not UTF-8", vsn2, websocket.MessageText, []byte("[null,\"1\",\"phoenix\",\"heartbeat\",{\"a\":\"\xff\"}]"), websocket.StatusInvalidFramePayloadData},
		{"binary", vsn2, websocket.MessageBinary, []byte{1, 2, 3}, websocket.StatusUnsupportedData},
		{"oversized", vsn2, websocket.MessageText, bytes.Repeat([]byte(" "), 4*maxFrame), websocket.StatusMessageTooBig},
	}
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{MaxFrame: maxFrame})
	_, tok, bystander := ts.user(t, vsn2)
	jr := bystander.join(topicChat)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial(t, tok, tt.v)
			c.join(topicChat)
			c.writeRaw(tt.typ, tt.data)
			c.expectClose(tt.code)
			bystander.t = t
			bystander.heartbeat()
			ref := bystander.push(jr, topicChat, "dance", nil)
			bystander.expectReply(jr, ref, topicChat, "error")
		})
	}
	eventually(t, "bad sockets to leave the hub", func() bool {
		_, sockets := ts.srv.hub.counts()
		return sockets == 1
	})
}
