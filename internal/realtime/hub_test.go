package realtime

import (
	"slices"
	"strconv"
	"sync"
	"testing"
)

// TestHubConcurrent: joins and leaves from many goroutines leave nothing
// behind, and lookups see only the asked topic.
func TestHubConcurrent(t *testing.T) {
	h := newHub()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				s := &socket{userID: i % 10, id: strconv.Itoa(g*1000 + i)}
				h.register(s)
				if !slices.Contains(h.appendSockets(nil, s.userID), s) {
					t.Errorf("socket %s not found under its user", s.id)
				}
				chat := &channel{sock: s, topic: topicChat}
				other := &channel{sock: s, topic: "room:other"}
				h.add(chat)
				h.add(other)
				for _, ch := range h.appendChannels(nil, s.userID, topicChat) {
					if ch.topic != topicChat {
						t.Errorf("lookup returned topic %q", ch.topic)
					}
				}
				h.remove(chat)
				h.remove(other)
				h.remove(other) // removing twice is harmless
				h.unregister(s)
			}
		})
	}
	wg.Wait()
	if users, sockets := h.counts(); users != 0 || sockets != 0 {
		t.Errorf("hub holds %d users and %d sockets, want none", users, sockets)
	}
}

func TestHubDevices(t *testing.T) {
	h := newHub()
	a1, a2 := &socket{userID: 1, id: "1"}, &socket{userID: 1, id: "2"}
	c1, c2 := &channel{sock: a1, topic: topicChat}, &channel{sock: a2, topic: topicChat}
	h.add(c1)
	h.add(c2)
	if got := h.appendChannels(nil, 1, topicChat); len(got) != 2 {
		t.Fatalf("%d channels, want 2", len(got))
	}
	h.remove(c1)
	if got := h.appendChannels(nil, 1, topicChat); len(got) != 1 || got[0] != c2 {
		t.Fatalf("after removing one device: %v", got)
	}
	if got := h.appendChannels(nil, 2, topicChat); len(got) != 0 {
		t.Fatalf("another user has %v", got)
	}
}

// TestHubSockets: a user's sockets are found whether or not they joined
// anything, and only that user's.
func TestHubSockets(t *testing.T) {
	h := newHub()
	a1, a2, b := &socket{userID: 1}, &socket{userID: 1}, &socket{userID: 1 + shardCount} // b shares a1's shard
	for _, s := range []*socket{a1, a2, b} {
		h.register(s)
	}
	h.add(&channel{sock: a1, topic: topicChat})
	if got := h.appendSockets(nil, 1); len(got) != 2 || !slices.Contains(got, a1) || !slices.Contains(got, a2) {
		t.Fatalf("user 1 has %v", got)
	}
	h.unregister(a1)
	h.unregister(a1) // unregistering twice is harmless
	if got := h.appendSockets(nil, 1); len(got) != 1 || got[0] != a2 {
		t.Fatalf("after unregistering one: %v", got)
	}
	var all []*socket
	h.eachSocket(func(s *socket) { all = append(all, s) })
	if len(all) != 2 {
		t.Fatalf("eachSocket saw %d sockets, want 2", len(all))
	}
}
