package chat

import (
	"github.com/companyapi/companyapi/ent"
)

func userOf(u *ent.User) User {
	return User{ID: u.ID, Name: u.Name, Subname: u.Subname, Email: u.Email, Job: u.Job, TokenGeneration: u.TokenGeneration}
}

func messageOf(m *ent.Message) Message {
	msg := Message{ID: m.ID, Content: m.Content, Date: m.Date.UTC(), SenderID: m.SenderID, ConversationID: m.ConversationID}
	if m.ClientID != nil {
		msg.ClientID = *m.ClientID
	}
	return msg
}

func conversationOf(c *ent.Conversation, last *Message) Conversation {
	return Conversation{
		ID: c.ID, SenderID: c.SenderID, RecipientID: c.RecipientID, Status: c.Status,
		InsertedAt: c.InsertedAt.UTC(), LastMessage: last,
	}
}
