package chat

import (
	"github.com/companyapi/companyapi/ent"
)

func userOf(u *ent.User) User {
	return User{ID: u.ID, Name: u.Name, Subname: u.Subname, Email: u.Email, Job: u.Job}
}

func messageOf(m *ent.Message) Message {
	msg := Message{ID: m.ID, Content: m.Content, Date: m.Date.UTC(), SenderID: m.SenderID, ConversationID: m.ConversationID}
	if m.ClientID != nil {
		msg.ClientID = *m.ClientID
	}
	return msg
}

// conversationOf is the conversation as viewer sees it: their unread
// count and read mark, and the other participant's mark.
func conversationOf(c *ent.Conversation, viewer int, last *Message) Conversation {
	conv := Conversation{
		ID: c.ID, SenderID: c.SenderID, RecipientID: c.RecipientID, Status: c.Status,
		InsertedAt: c.InsertedAt.UTC(), LastMessage: last,
		UnreadCount: c.RecipientUnread, LastReadID: c.RecipientReadID, OtherLastReadID: c.SenderReadID,
	}
	if viewer == c.SenderID {
		conv.UnreadCount, conv.LastReadID, conv.OtherLastReadID = c.SenderUnread, c.SenderReadID, c.RecipientReadID
	}
	return conv
}
