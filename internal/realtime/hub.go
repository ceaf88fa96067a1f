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
}

func newHub() *hub {
	h := &hub{}
	for i := range h.users {
		h.users[i].chans = make(map[int][]*channel)
		h.users[i].socks = make(map[int][]*socket)
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
