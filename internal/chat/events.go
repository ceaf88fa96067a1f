package chat

// Event is something the domain has committed, announced afterwards
// through an Announcer: internal/events carries it to this node's sockets
// and, through a broker, to every other node's.
type Event interface{ event() }

// MessageStored is a committed message. To lists the users whose sockets
// get it (both participants: the sender's other devices too), and Origin
// the socket that sent it, which gets its reply instead.
type MessageStored struct {
	Message Message
	// Prev is the conversation's message before this one (0: none).
	Prev   int
	To     []int
	Origin string
	// Elided is set on a message that arrived from another node without
	// its content (too large for the broker): only ID, ConversationID and
	// SenderID are set, and the receiver loads the rest.
	Elided bool
}

// SessionsEnded says that tokens of a user stopped working: the one named
// TokenID (a logout), or all of them when TokenID is "" (a password
// change). Their sockets are closed.
type SessionsEnded struct {
	UserID  int
	TokenID string
}

// ConversationCreated is a new conversation; To are its participants. Its
// unread counts and read marks are empty, so the JSON is the same for both.
type ConversationCreated struct {
	Conversation Conversation
	To           []int
}

// ReadMarked says UserID has read ConversationID up to MessageID. To are
// the users whose sockets hear of it (both participants); Origin the
// socket that marked it, if any, which got its reply instead.
type ReadMarked struct {
	ConversationID int
	UserID         int
	MessageID      int
	To             []int
	Origin         string
}

// Typing says UserID is typing in ConversationID; To is the other
// participant. Never stored.
type Typing struct {
	ConversationID int
	UserID         int
	To             []int
}

func (MessageStored) event()       {}
func (SessionsEnded) event()       {}
func (ConversationCreated) event() {}
func (ReadMarked) event()          {}
func (Typing) event()              {}

// Announcer takes the events of one commit, in order. It must not block:
// it is called by the message writer between commits.
type Announcer interface {
	Announce(events ...Event)
}

type nopAnnouncer struct{}

func (nopAnnouncer) Announce(...Event) {}

// Presence events are about live sockets, not commits; they ride the same
// path so that every node sees every node's presence (internal/realtime).

// PresenceMeta is one joined socket (device) of a user, in Phoenix
// Presence's words.
type PresenceMeta struct {
	UserID   int    `json:"user_id"`
	Ref      string `json:"phx_ref"`
	OnlineAt int64  `json:"online_at"`
}

// PresenceChanged is Node's sockets joining and leaving room:chat.
type PresenceChanged struct {
	Node   string
	Joins  []PresenceMeta
	Leaves []PresenceMeta
}

// PresenceState is all of Node's joined sockets, in parts (Final on the
// last): the answer to a PresenceSync, which replaces what others hold of
// Node.
type PresenceState struct {
	Node  string
	Metas []PresenceMeta
	Final bool
}

// PresenceSync asks Node ("" : every node) for its PresenceState.
type PresenceSync struct {
	From string
	Node string
}

// NodeAlive is a node's heartbeat: it is up, with Metas joined sockets. A
// node not heard of for a while is dead, and its sockets leave.
type NodeAlive struct {
	Node  string
	Metas int
}

// NodeLeaving says Node is shutting down: its sockets leave at once.
type NodeLeaving struct {
	Node string
}

func (PresenceChanged) event() {}
func (PresenceState) event()   {}
func (PresenceSync) event()    {}
func (NodeAlive) event()       {}
func (NodeLeaving) event()     {}
