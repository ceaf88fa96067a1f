package realtime

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
)

// Presence, in Phoenix Presence's format so that phoenix.js's Presence
// class works unchanged: after every join of room:chat the channel gets
// presence_state, then presence_diff as its user's devices and contacts'
// devices join and leave. A user sees their own devices and the users they
// share a conversation with, nobody else.
//
// Each node tracks its own joined sockets and announces every change on
// the event bus; every node holds the whole cluster's presence. A node
// announces a heartbeat (NodeAlive) every presenceHeartbeat with how many
// sockets it has; a node not heard of for presenceNodeTimeout is dead, and
// its sockets leave everywhere. A node whose count disagrees, or a node
// that resyncs, asks for the full state (PresenceSync), so nothing drifts:
// there is no list that only grows.
const (
	presenceHeartbeat   = 5 * time.Second
	presenceNodeTimeout = 15 * time.Second
	// presenceStatePart bounds the metas of one PresenceState event, so a
	// part fits one broker payload.
	presenceStatePart = 64
)

const (
	eventPresenceState = "presence_state"
	eventPresenceDiff  = "presence_diff"
)

// presence is the node's view of the cluster's presence.
type presence struct {
	srv  *Server
	node string
	seq  atomic.Uint64

	// announcing orders this node's own presence events: a state's
	// snapshot and its parts go out with no join or leave of this node
	// between them, or the others would apply the state over newer
	// changes, and drift where no heartbeat's count shows it.
	announcing sync.Mutex
	// leaving is set, under announcing, once NodeLeaving is out.
	leaving bool
	// stateSnapshotted, for tests, runs between a state's snapshot and
	// its announcement.
	stateSnapshotted func()

	mu sync.Mutex
	// metas holds every known joined socket, by user, sorted by ref. A
	// slice, not a map: a user has a few devices, and an idle socket's
	// bytes count (a one-entry map is ≈ 400 B more).
	metas map[int][]chat.PresenceMeta
	// nodes holds what each node (this one included) has joined, and when
	// it was last heard of.
	nodes map[string]*nodeState
	// contacts are the users a local joined user sees, counted per joined
	// channel of theirs; watchers the reverse: for a user, the local users
	// who see them. A local user sees themselves too, which watchers leaves
	// out (a user's own entry there would cost every idle socket a map).
	contacts map[int]*contactSet
	watchers map[int]map[int]struct{}
}

type nodeState struct {
	refs     map[string]int // ref → user
	lastSeen time.Time
	// incoming collects a PresenceState arriving in parts.
	incoming map[string]chat.PresenceMeta
}

type contactSet struct {
	users    []int
	channels int
}

func newPresence(srv *Server) *presence {
	return &presence{srv: srv, node: srv.node,
		metas: map[int][]chat.PresenceMeta{}, nodes: map[string]*nodeState{},
		contacts: map[int]*contactSet{}, watchers: map[int]map[int]struct{}{}}
}

// announce sends events through the bus, or handles them at once on a
// server without one (tests).
func (p *presence) announce(evs ...chat.Event) {
	if p.srv.cfg.Events != nil {
		p.srv.cfg.Events.Announce(evs...)
		return
	}
	p.srv.Handle(evs)
}

// track makes ch's socket present: its user's contacts are loaded if this
// is the user's first channel here, and the join is announced. It returns
// the contacts' and the user's current state for presence_state.
func (p *presence) track(ctx context.Context, ch *channel) (json.RawMessage, error) {
	uid := ch.sock.userID
	if err := p.loadContacts(ctx, uid); err != nil {
		return nil, err
	}
	// The ref names the socket, so that its own join's diff skips it: its
	// presence_state holds the join already.
	m := chat.PresenceMeta{UserID: uid, Ref: ch.sock.id + "/" + strconv.FormatUint(p.seq.Add(1), 36), OnlineAt: p.srv.cfg.now().Unix()}
	p.announcing.Lock()
	ch.presenceRef.Store(&m.Ref)
	p.announce(chat.PresenceChanged{Node: p.node, Joins: []chat.PresenceMeta{m}})
	p.announcing.Unlock()
	return p.stateFor(uid), nil
}

// untrack announces that ch's socket left, once, and forgets its user's
// contacts with its last channel here.
func (p *presence) untrack(ch *channel) {
	p.untrackMany([]*channel{ch})
}

// untrackMany is untrack for many channels at once (a Resync), with their
// leaves in parts: one event per channel would overflow the bus's queue,
// and the gap would make every other node resync too. After this node
// announced NodeLeaving, its leaves are known everywhere already.
func (p *presence) untrackMany(chs []*channel) {
	var leaves []chat.PresenceMeta
	for _, ch := range chs {
		if ref := ch.presenceRef.Swap(nil); ref != nil {
			leaves = append(leaves, chat.PresenceMeta{UserID: ch.sock.userID, Ref: *ref})
		}
	}
	if len(leaves) == 0 {
		return
	}
	p.announcing.Lock()
	for part := range slices.Chunk(leaves, presenceStatePart) {
		ev := chat.PresenceChanged{Node: p.node, Leaves: part}
		if p.leaving {
			p.handle(ev) // here only
		} else {
			p.announce(ev)
		}
	}
	p.announcing.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range leaves {
		p.forgetContactsLocked(m.UserID)
	}
}

// leave tells the other nodes that this one is going: they drop its
// presence at once rather than when its heartbeats stop.
func (p *presence) leave() {
	p.announcing.Lock()
	defer p.announcing.Unlock()
	p.leaving = true
	p.announce(chat.NodeLeaving{Node: p.node})
}

// forgetContactsLocked counts one channel of uid's fewer, and forgets
// its contacts with the last.
func (p *presence) forgetContactsLocked(uid int) {
	cs := p.contacts[uid]
	if cs == nil {
		return
	}
	if cs.channels--; cs.channels > 0 {
		return
	}
	delete(p.contacts, uid)
	for _, c := range cs.users {
		p.unwatch(c, uid)
	}
}

func (p *presence) loadContacts(ctx context.Context, uid int) error {
	p.mu.Lock()
	if cs := p.contacts[uid]; cs != nil {
		cs.channels++
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	users, err := p.srv.cfg.Chat.Contacts(ctx, uid)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cs := p.contacts[uid]; cs != nil { // loaded meanwhile by another device
		cs.channels++
		return nil
	}
	p.contacts[uid] = &contactSet{users: users, channels: 1}
	for _, c := range users {
		p.watch(c, uid)
	}
	return nil
}

func (p *presence) watch(user, watcher int) {
	w := p.watchers[user]
	if w == nil {
		w = map[int]struct{}{}
		p.watchers[user] = w
	}
	w[watcher] = struct{}{}
}

func (p *presence) unwatch(user, watcher int) {
	if w := p.watchers[user]; w != nil {
		delete(w, watcher)
		if len(w) == 0 {
			delete(p.watchers, user)
		}
	}
}

// stateFor is presence_state for uid: their own and their contacts' metas.
func (p *presence) stateFor(uid int) json.RawMessage {
	p.mu.Lock()
	users := []int{uid}
	if cs := p.contacts[uid]; cs != nil {
		users = append(users, cs.users...)
	}
	state := presenceMap{}
	for _, u := range users {
		state.add(u, p.metas[u]...)
	}
	p.mu.Unlock()
	b, _ := marshalJSON(state)
	return b
}

// presenceMap is Phoenix's {"<key>": {"metas": [...]}}.
type presenceMap map[string]presenceEntry

type presenceEntry struct {
	Metas []presenceMeta `json:"metas"`
}

type presenceMeta struct {
	Ref      string `json:"phx_ref"`
	OnlineAt int64  `json:"online_at"`
}

func (pm presenceMap) add(user int, metas ...chat.PresenceMeta) {
	if len(metas) == 0 {
		return
	}
	key := strconv.Itoa(user)
	e := pm[key]
	for _, m := range metas {
		e.Metas = append(e.Metas, presenceMeta{Ref: m.Ref, OnlineAt: m.OnlineAt})
	}
	pm[key] = e
}

func byRef(m chat.PresenceMeta, ref string) int { return strings.Compare(m.Ref, ref) }

// diff accumulates presence_diff payloads per local watcher.
type diff struct {
	joins, leaves presenceMap
}

// handle applies presence events, and pushes the resulting diffs to the
// local channels that see them.
func (p *presence) handle(ev chat.Event) {
	now := p.srv.cfg.now()
	diffs := map[int]*diff{}
	origin := ""
	p.mu.Lock()
	switch e := ev.(type) {
	case chat.PresenceChanged:
		if len(e.Joins) == 1 && len(e.Leaves) == 0 {
			origin, _, _ = strings.Cut(e.Joins[0].Ref, "/")
		}
		n := p.nodeLocked(e.Node, now)
		for _, m := range e.Joins {
			n.refs[m.Ref] = m.UserID
			p.joinLocked(m, diffs)
		}
		for _, m := range e.Leaves {
			delete(n.refs, m.Ref)
			p.leaveLocked(m.UserID, m.Ref, diffs)
		}
	case chat.PresenceState:
		if e.Node == p.node {
			break
		}
		n := p.nodeLocked(e.Node, now)
		if n.incoming == nil {
			n.incoming = map[string]chat.PresenceMeta{}
		}
		for _, m := range e.Metas {
			n.incoming[m.Ref] = m
		}
		if e.Final {
			p.replaceLocked(n, n.incoming, diffs)
			n.incoming = nil
		}
	case chat.NodeAlive:
		if e.Node == p.node {
			break
		}
		n := p.nodeLocked(e.Node, now)
		if len(n.refs) != e.Metas && n.incoming == nil {
			defer p.announce(chat.PresenceSync{From: p.node, Node: e.Node})
		}
	case chat.NodeLeaving:
		if n := p.nodes[e.Node]; n != nil && e.Node != p.node {
			p.replaceLocked(n, nil, diffs)
			delete(p.nodes, e.Node)
		}
	case chat.PresenceSync:
		if e.From != p.node && (e.Node == "" || e.Node == p.node) {
			defer p.announceState()
		}
	case chat.ConversationCreated:
		p.connectLocked(e.Conversation.SenderID, e.Conversation.RecipientID, diffs)
	}
	p.mu.Unlock()
	p.push(diffs, origin)
}

func (p *presence) nodeLocked(name string, now time.Time) *nodeState {
	n := p.nodes[name]
	if n == nil {
		n = &nodeState{refs: map[string]int{}}
		p.nodes[name] = n
	}
	n.lastSeen = now
	return n
}

func (p *presence) joinLocked(m chat.PresenceMeta, diffs map[int]*diff) {
	um := p.metas[m.UserID]
	i, found := slices.BinarySearchFunc(um, m.Ref, byRef)
	if found {
		return
	}
	p.metas[m.UserID] = slices.Insert(um, i, m)
	p.diffLocked(m.UserID, m, true, diffs)
}

func (p *presence) leaveLocked(user int, ref string, diffs map[int]*diff) {
	um := p.metas[user]
	i, found := slices.BinarySearchFunc(um, ref, byRef)
	if !found {
		return
	}
	m := um[i]
	if len(um) == 1 {
		delete(p.metas, user)
	} else {
		p.metas[user] = slices.Delete(um, i, i+1)
	}
	p.diffLocked(user, m, false, diffs)
}

// replaceLocked makes node n's metas what state says: refs it no longer
// has leave, new ones join.
func (p *presence) replaceLocked(n *nodeState, state map[string]chat.PresenceMeta, diffs map[int]*diff) {
	for ref, user := range n.refs {
		if _, ok := state[ref]; !ok {
			delete(n.refs, ref)
			p.leaveLocked(user, ref, diffs)
		}
	}
	for ref, m := range state {
		n.refs[ref] = m.UserID
		p.joinLocked(m, diffs)
	}
}

// connectLocked makes two users who now share a conversation see each
// other: each local one gets the other's current metas as joins.
func (p *presence) connectLocked(a, b int, diffs map[int]*diff) {
	for _, pair := range [][2]int{{a, b}, {b, a}} {
		me, other := pair[0], pair[1]
		cs := p.contacts[me]
		if cs == nil || slices.Contains(cs.users, other) {
			continue
		}
		cs.users = append(cs.users, other)
		p.watch(other, me)
		if ms := p.metas[other]; len(ms) > 0 {
			diffFor(diffs, me).joins.add(other, ms...)
		}
	}
}

func (p *presence) diffLocked(user int, m chat.PresenceMeta, join bool, diffs map[int]*diff) {
	if _, here := p.contacts[user]; here {
		p.diffOneLocked(user, user, m, join, diffs)
	}
	for w := range p.watchers[user] {
		if w != user {
			p.diffOneLocked(w, user, m, join, diffs)
		}
	}
}

func (p *presence) diffOneLocked(w, user int, m chat.PresenceMeta, join bool, diffs map[int]*diff) {
	d := diffFor(diffs, w)
	if join {
		d.joins.add(user, m)
	} else {
		d.leaves.add(user, m)
	}
}

func diffFor(diffs map[int]*diff, watcher int) *diff {
	d := diffs[watcher]
	if d == nil {
		d = &diff{joins: presenceMap{}, leaves: presenceMap{}}
		diffs[watcher] = d
	}
	return d
}

// push sends each watcher's diff to their room:chat channels here, but
// the socket origin's.
func (p *presence) push(diffs map[int]*diff, origin string) {
	for w, d := range diffs {
		payload, err := marshalJSON(d.wire())
		if err != nil {
			continue
		}
		p.srv.deliver(push{UserIDs: []int{w}, Origin: origin, Topic: topicChat, Event: eventPresenceDiff, Payload: payload})
	}
}

func (d *diff) wire() any {
	return struct {
		Joins  presenceMap `json:"joins"`
		Leaves presenceMap `json:"leaves"`
	}{d.joins, d.leaves}
}

// announceState sends this node's joined sockets, in parts.
func (p *presence) announceState() {
	p.announcing.Lock()
	defer p.announcing.Unlock()
	if p.leaving {
		return // the others dropped this node already
	}
	p.mu.Lock()
	var all []chat.PresenceMeta
	if n := p.nodes[p.node]; n != nil {
		for ref, user := range n.refs {
			um := p.metas[user]
			if i, ok := slices.BinarySearchFunc(um, ref, byRef); ok {
				all = append(all, um[i])
			}
		}
	}
	p.mu.Unlock()
	if p.stateSnapshotted != nil {
		p.stateSnapshotted()
	}
	for i := 0; ; i += presenceStatePart {
		end := min(i+presenceStatePart, len(all))
		p.announce(chat.PresenceState{Node: p.node, Metas: all[i:end], Final: end == len(all)})
		if end == len(all) {
			return
		}
	}
}

// tick is the heartbeat: it announces this node alive and makes the nodes
// not heard of for presenceNodeTimeout leave.
func (p *presence) tick(now time.Time) {
	diffs := map[int]*diff{}
	p.mu.Lock()
	count := 0
	if n := p.nodes[p.node]; n != nil {
		count = len(n.refs)
	}
	dead := false
	for name, n := range p.nodes {
		if name != p.node && now.Sub(n.lastSeen) > presenceNodeTimeout {
			p.replaceLocked(n, nil, diffs)
			delete(p.nodes, name)
			dead = true
		}
	}
	p.mu.Unlock()
	p.push(diffs, "")
	p.announce(chat.NodeAlive{Node: p.node, Metas: count})
	if dead {
		// What the dead node committed last may never have been
		// published: this node's clients recover it.
		p.srv.Resync()
	}
}

// run beats until ctx ends; the first beat asks every node for its state.
func (p *presence) run(ctx context.Context) {
	p.announce(chat.PresenceSync{From: p.node})
	t := time.NewTicker(presenceHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.tick(p.srv.cfg.now())
		}
	}
}
