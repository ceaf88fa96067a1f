package chat

import "time"

// User is an account as every client may see it: never the password hash.
type User struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Subname string `json:"subname"`
	Email   string `json:"email"`
	Job     string `json:"job"`
}

// Message is a stored chat message, the seed's message JSON, plus the
// sender's client_id when it named one.
type Message struct {
	ID             int       `json:"id"`
	Content        string    `json:"content"`
	Date           time.Time `json:"date"`
	SenderID       int       `json:"sender_id"`
	ConversationID int       `json:"conversation_id"`
	ClientID       string    `json:"client_id,omitempty"`
	// Repeat is set on the answer to a send whose client_id the sender had
	// used before: this is the message stored then, and nothing new was.
	Repeat bool `json:"-"`
	// Prev is the conversation's message before this one (0: none), set
	// on a message just stored: a client that holds Prev holds everything
	// before, so pushes that arrive out of order, or not at all, show.
	Prev int `json:"-"`
}

// Conversation is a one-to-one conversation between two users.
type Conversation struct {
	ID          int       `json:"id"`
	SenderID    int       `json:"sender_id"`
	RecipientID int       `json:"recipient_id"`
	Status      *string   `json:"status"`
	InsertedAt  time.Time `json:"inserted_at"`
	LastMessage *Message  `json:"last_message"`
	// UnreadCount is how many of the other participant's messages came
	// after the viewer's read mark, LastReadID that mark (nil: none yet),
	// OtherLastReadID the other participant's.
	UnreadCount     int  `json:"unread_count"`
	LastReadID      *int `json:"last_read_id"`
	OtherLastReadID *int `json:"other_last_read_id"`
}

// SendInput is one message to post. RecipientID, when not zero, must be the
// other participant (the seed's send_msg names it as "user").
type SendInput struct {
	SenderID       int
	ConversationID int
	RecipientID    int
	Content        string
	// ClientID, when set (1 to 64 characters), makes the send idempotent:
	// a repeat by the same sender returns the message stored the first time.
	ClientID string
	// Origin identifies the socket the message came from, so that the
	// sender's other devices get the push but the sending socket does not.
	Origin string
}
