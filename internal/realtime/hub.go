package realtime

import (
	"slices"
	"sync"
)

// shardCount spreads the hub over independent locks: joins, leaves and
// deliveries for different users rarely contend, and no lock covers all.
const shardCount = 64

// hub is the seed's ChannelSessions: user id -> the channels that user has
// joined, on every socket and device. It also keeps every live socket, so
// Shutdown can reach sockets that joined nothing.
type hub struct {
	users   [shardCount]userShard
	sockets [shardCount]socketShard
}

type userShard struct {
	mu sync.RWMutex
	m  map[int][]*channel // a user has a few devices: a slice beats a set
}

type socketShard struct {
	mu sync.Mutex
	m  map[*socket]struct{}
}

func newHub() *hub {
	h := &hub{}
	for i := range h.users {
		h.users[i].m = make(map[int][]*channel)
		h.sockets[i].m = make(map[*socket]struct{})
	}
	return h
}

func (h *hub) userShard(userID int) *userShard { return &h.users[uint(userID)%shardCount] }

func (h *hub) socketShard(s *socket) *socketShard { return &h.sockets[s.seq%shardCount] }

// add records a joined channel under its socket's user.
func (h *hub) add(ch *channel) {
	sh := h.userShard(ch.sock.userID)
	sh.mu.Lock()
	sh.m[ch.sock.userID] = append(sh.m[ch.sock.userID], ch)
	sh.mu.Unlock()
}

// remove forgets a channel; a user with no channel left is deleted, so the
// map holds only live users.
func (h *hub) remove(ch *channel) {
	uid := ch.sock.userID
	sh := h.userShard(uid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	list := sh.m[uid]
	i := slices.Index(list, ch)
	if i < 0 {
		return
	}
	if len(list) == 1 {
		delete(sh.m, uid)
		return
	}
	sh.m[uid] = slices.Delete(list, i, i+1)
}

// appendChannels appends the user's channels on topic to dst. Callers pass
// a stack buffer and deliver after the lock is released, so no socket is
// touched under a hub lock.
func (h *hub) appendChannels(dst []*channel, userID int, topic string) []*channel {
	sh := h.userShard(userID)
	sh.mu.RLock()
	for _, ch := range sh.m[userID] {
		if ch.topic == topic {
			dst = append(dst, ch)
		}
	}
	sh.mu.RUnlock()
	return dst
}

func (h *hub) register(s *socket) {
	sh := h.socketShard(s)
	sh.mu.Lock()
	sh.m[s] = struct{}{}
	sh.mu.Unlock()
}

func (h *hub) unregister(s *socket) {
	sh := h.socketShard(s)
	sh.mu.Lock()
	delete(sh.m, s)
	sh.mu.Unlock()
}

// eachSocket calls fn for every live socket, one shard at a time, outside
// the shard's lock.
func (h *hub) eachSocket(fn func(*socket)) {
	var batch []*socket
	for i := range h.sockets {
		sh := &h.sockets[i]
		sh.mu.Lock()
		batch = batch[:0]
		for s := range sh.m {
			batch = append(batch, s)
		}
		sh.mu.Unlock()
		for _, s := range batch {
			fn(s)
		}
	}
}

// counts reports how many users have joined channels and how many sockets
// are live; tests use it to prove that nothing leaks.
func (h *hub) counts() (users, sockets int) {
	for i := range h.users {
		h.users[i].mu.RLock()
		users += len(h.users[i].m)
		h.users[i].mu.RUnlock()
		h.sockets[i].mu.Lock()
		sockets += len(h.sockets[i].m)
		h.sockets[i].mu.Unlock()
	}
	return users, sockets
}
