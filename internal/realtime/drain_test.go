package realtime

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/chat"
)

// gatedSender holds every send until release is closed, then stores it.
type gatedSender struct {
	Sender
	started chan struct{}
	release chan struct{}
}

func (g *gatedSender) SendMessage(ctx context.Context, in chat.SendInput) (chat.Message, error) {
	g.started <- struct{}{}
	<-g.release
	return g.Sender.SendMessage(ctx, in)
}

// TestShutdownAnswersInFlight reproduces the sends left without a reply
// at SIGTERM (32 in flight): a send being stored when shutdown begins gets
// its ok before the socket closes with 1001, and a frame another socket
// sends while shutdown waits for it is answered unavailable, not dropped.
func TestShutdownAnswersInFlight(t *testing.T) {
	b := newFakeBackend(t)
	g := &gatedSender{Sender: b.Chat, started: make(chan struct{}, 1), release: make(chan struct{})}
	b.Chat = g
	ts := startServer(t, b, Config{})
	uid, _, c := ts.user(t, vsn2)
	other, otherTok := b.NewUser(t)
	conv := b.NewConversation(t, uid, other)
	jr := c.join(topicChat)
	c2 := ts.dial(t, otherTok, vsn2)
	jr2 := c2.join(topicChat)
	ref := c.sendMsg(jr, other, conv, "in flight")
	<-g.started

	done := make(chan error, 1)
	go func() { done <- ts.srv.Shutdown(context.Background()) }()
	eventually(t, "shutdown to begin draining", ts.srv.draining.Load)
	// Shutdown waits for the send in flight: another socket's frame, read
	// meanwhile, is refused.
	late := c2.sendMsg(jr2, uid, conv, "after shutdown began")
	if e := errorResponseOf(t, c2.expectReply(jr2, late, topicChat, "error")); e.Reason != "unavailable" {
		t.Fatalf("a frame read while draining: %+v, want unavailable", e)
	}
	close(g.release)

	c.expectReply(jr, ref, topicChat, "ok")
	c.expectCloseNow(websocket.StatusGoingAway, "server shutting down")
	// The recipient gets the message stored during the drain, then 1001.
	c2.expectMessage(jr2)
	c2.expectCloseNow(websocket.StatusGoingAway, "server shutting down")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Shutdown did not return")
	}
}
