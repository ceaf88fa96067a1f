package realtime

import (
	"context"
	"testing"
)

func TestLocalBroker(t *testing.T) {
	b := NewLocalBroker()
	var got1, got2 []string
	un1, err := b.Subscribe(func(e Envelope) { got1 = append(got1, e.Event) })
	if err != nil {
		t.Fatal(err)
	}
	un2, _ := b.Subscribe(func(e Envelope) { got2 = append(got2, e.Event) })
	_ = b.Publish(context.Background(), Envelope{Event: "a"})
	un1()
	un1() // idempotent
	_ = b.Publish(context.Background(), Envelope{Event: "b"})
	un2()
	_ = b.Publish(context.Background(), Envelope{Event: "c"})
	if len(got1) != 1 || got1[0] != "a" || len(got2) != 2 || got2[1] != "b" {
		t.Errorf("first got %v, second got %v", got1, got2)
	}
	if _, err := b.Subscribe(nil); err == nil {
		t.Error("Subscribe(nil) succeeded")
	}
}

// TestSharedBroker: two nodes on one broker, as two servers behind a
// PostgreSQL broker will be; a message published on one reaches a socket
// on the other.
func TestSharedBroker(t *testing.T) {
	b := newFakeBackend(t)
	broker := NewLocalBroker()
	n1 := startServer(t, b, Config{Broker: broker})
	n2 := startServer(t, b, Config{Broker: broker})
	uid, tok := b.NewUser(t)
	c := n2.dial(t, tok, vsn2)
	jr := c.join(topicChat)
	n1.srv.PublishMessage(context.Background(), messageFixture(5), []int{uid}, "")
	if m := c.expectMessage(jr); m.ID != 5 {
		t.Errorf("got message %d, want 5", m.ID)
	}
}
