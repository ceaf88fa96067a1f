package chat

import "sync"

// participants are a conversation's two users. They never change once the
// conversation exists, so they can be cached without invalidation: the
// authorization check on every message then costs no query.
type participants struct {
	sender, recipient int
}

func (p participants) has(u int) bool { return p.sender == u || p.recipient == u }

func (p participants) other(u int) int {
	if p.sender == u {
		return p.recipient
	}
	return p.sender
}

// participantCache is a bounded map; when full it is cleared, which is
// cheap and good enough for immutable data whose misses cost one query.
type participantCache struct {
	mu  sync.RWMutex
	max int
	m   map[int]participants
}

func newParticipantCache(max int) *participantCache {
	return &participantCache{max: max, m: make(map[int]participants)}
}

func (c *participantCache) get(id int) (participants, bool) {
	c.mu.RLock()
	p, ok := c.m[id]
	c.mu.RUnlock()
	return p, ok
}

func (c *participantCache) put(id int, p participants) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[id] = p
	c.mu.Unlock()
}
