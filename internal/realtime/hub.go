package realtime

import (
	"slices"
	"sync"
)

// shardCount spreads the hub over independent locks: connects, joins,
// leaves and deliveries for different users rarely contend, and no lock
// covers all.
const shardCount = 64

// hub is the seed's ChannelSessions: user id -> the channels that user has
// joined, on every socket and device. It also keeps every live socket under
// its user, joined or not, so that Shutdown reaches them all and
// endSessions finds a user's sockets without looking at anyone else's.
type hub struct {
	users [shardCount]userShard
}

type userShard struct {
	mu sync.RWMutex
	// A user has a few devices: slices beat sets.
	chans map[int][]*channel // only users with a joined channel
	socks map[int][]*socket  // only users with a live socket
	// admitting counts the connects admitted but not yet registered
	// (see admit); only users with one.
	admitting map[int]int
}

func newHub() *hub {
	h := &hub{}
	for i := range h.users {
		h.users[i].chans = make(map[int][]*channel)
		h.users[i].socks = make(map[int][]*socket)
		h.users[i].admitting = make(map[int]int)
	}
	return h
}

func (h *hub) shard(userID int) *userShard { return &h.users[uint(userID)%shardCount] }

// add records a joined channel under its socket's user.
func (h *hub) add(ch *channel) {
	uid := ch.sock.userID
	sh := h.shard(uid)
	sh.mu.Lock()
	sh.chans[uid] = append(sh.chans[uid], ch)
	sh.mu.Unlock()
}

// remove forgets a channel; a user with no channel left is deleted, so the
// map holds only live users.
func (h *hub) remove(ch *channel) {
	uid := ch.sock.userID
	sh := h.shard(uid)
	sh.mu.Lock()
	removeFrom(sh.chans, uid, ch)
	sh.mu.Unlock()
}

// removeFrom deletes v from m[key], and the key with its last value.
func removeFrom[T comparable](m map[int][]T, key int, v T) {
	list := m[key]
	i := slices.Index(list, v)
	switch {
	case i < 0:
	case len(list) == 1:
		delete(m, key)
	default:
		m[key] = slices.Delete(list, i, i+1)
	}
}

// appendChannels appends the user's channels on topic to dst. Callers pass
// a stack buffer and deliver after the lock is released, so no socket is
// touched under a hub lock.
func (h *hub) appendChannels(dst []*channel, userID int, topic string) []*channel {
	sh := h.shard(userID)
	sh.mu.RLock()
	for _, ch := range sh.chans[userID] {
		if ch.topic == topic {
			dst = append(dst, ch)
		}
	}
	sh.mu.RUnlock()
	return dst
}

// appendSockets appends the user's live sockets to dst, under the same
// rules as appendChannels.
func (h *hub) appendSockets(dst []*socket, userID int) []*socket {
	sh := h.shard(userID)
	sh.mu.RLock()
	dst = append(dst, sh.socks[userID]...)
	sh.mu.RUnlock()
	return dst
}

// admit counts a connect of the user under way, unless the user already
// has limit sockets live or being connected: then it returns false. The
// count is checked and taken under one lock, so concurrent connects cannot
// all pass. The caller calls admitted once the socket is registered, or
// its connect failed.
func (h *hub) admit(userID, limit int) bool {
	sh := h.shard(userID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.socks[userID])+sh.admitting[userID] >= limit {
		return false
	}
	sh.admitting[userID]++
	return true
}

// admitted ends a connect that admit counted.
func (h *hub) admitted(userID int) {
	sh := h.shard(userID)
	sh.mu.Lock()
	if sh.admitting[userID]--; sh.admitting[userID] <= 0 {
		delete(sh.admitting, userID)
	}
	sh.mu.Unlock()
}

func (h *hub) register(s *socket) {
	sh := h.shard(s.userID)
	sh.mu.Lock()
	sh.socks[s.userID] = append(sh.socks[s.userID], s)
	sh.mu.Unlock()
}

func (h *hub) unregister(s *socket) {
	sh := h.shard(s.userID)
	sh.mu.Lock()
	removeFrom(sh.socks, s.userID, s)
	sh.mu.Unlock()
}

// eachSocket calls fn for every live socket, one shard at a time, outside
// the shard's lock.
func (h *hub) eachSocket(fn func(*socket)) {
	var batch []*socket
	for i := range h.users {
		sh := &h.users[i]
		sh.mu.RLock()
		batch = batch[:0]
		for _, list := range sh.socks {
			batch = append(batch, list...)
		}
		sh.mu.RUnlock()
		for _, s := range batch {
			fn(s)
		}
	}
}

// eachChannel calls fn for every joined channel, one shard at a time,
// outside the shard's lock.
func (h *hub) eachChannel(fn func(*channel)) {
	var batch []*channel
	for i := range h.users {
		sh := &h.users[i]
		sh.mu.RLock()
		batch = batch[:0]
		for _, list := range sh.chans {
			batch = append(batch, list...)
		}
		sh.mu.RUnlock()
		for _, ch := range batch {
			fn(ch)
		}
	}
}

// counts reports how many users have joined channels and how many sockets
// are live; tests use it to prove that nothing leaks.
func (h *hub) counts() (users, sockets int) {
	for i := range h.users {
		sh := &h.users[i]
		sh.mu.RLock()
		users += len(sh.chans)
		for _, list := range sh.socks {
			sockets += len(list)
		}
		sh.mu.RUnlock()
	}
	return users, sockets
}
