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
