package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
)

// DevMail holds the schema definition for the DevMail entity: a mail
// delivered to the development mailbox (/sent_mails) instead of a mail
// server. Only the dev environment writes it; the newest few hundred are
// kept.
type DevMail struct {
	ent.Schema
}

// Fields of the DevMail.
func (DevMail) Fields() []ent.Field {
	return []ent.Field{
		field.String("to"),
		field.String("from"),
		field.String("subject"),
		field.Text("text"),
		field.Text("html"),
		field.Time("sent_at").
			Default(utcNow),
	}
}
