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
	To      []int
	Origin  string
	// Elided is set on a message that arrived from another node without
	// its content (too large for the broker): only ID, ConversationID and
	// SenderID are set, and the receiver loads the rest.
	Elided bool
}

// SessionsEnded says that tokens of a user stopped working: the one named
// TokenID (a logout), or, when TokenID is "", all of those issued before a
// password change or reset, which moved the user's token generation to
// Generation. Their sockets are closed. A Generation of 0 (an announcement
// from a node that predates generations) ends every token of the user.
type SessionsEnded struct {
	UserID     int
	TokenID    string
	Generation int
}

func (MessageStored) event() {}
func (SessionsEnded) event() {}

// Announcer takes the events of one commit, in order. It must not block:
// it is called by the message writer between commits.
type Announcer interface {
	Announce(events ...Event)
}

type nopAnnouncer struct{}

func (nopAnnouncer) Announce(...Event) {}
