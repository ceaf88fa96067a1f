package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// MaxContentLen is the longest message, in characters.
const MaxContentLen = 4000

// MaxClientIDLen is the longest client_id, in characters.
const MaxClientIDLen = 64

// Message holds the schema definition for the Message entity.
type Message struct {
	ent.Schema
}

// Fields of the Message. date is set by the server, in UTC.
func (Message) Fields() []ent.Field {
	return []ent.Field{
		field.Text("content").
			NotEmpty().
			MaxRuneLen(MaxContentLen),
		field.Time("date").
			Default(utcNow).
			Immutable(),
		field.Int("sender_id").
			Immutable(),
		field.Int("conversation_id").
			Immutable(),
		// client_id is the sender's own name for the message: a send
		// repeated with it (after a timeout or a lost reply) returns the
		// stored message instead of storing a second one.
		field.String("client_id").
			Optional().
			Nillable().
			MaxRuneLen(MaxClientIDLen).
			Immutable(),
	}
}

// Edges of the Message.
func (Message) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("sender", User.Type).
			Ref("messages").
			Field("sender_id").
			Unique().
			Required().
			Immutable(),
		edge.From("conversation", Conversation.Type).
			Ref("messages").
			Field("conversation_id").
			Unique().
			Required().
			Immutable(),
	}
}

// Indexes of the Message: (conversation_id, id) serves keyset pagination of
// a conversation's history both ways; (sender_id, client_id) makes a
// client_id name one message per sender (rows without one never collide)
// and serves the sender foreign key.
func (Message) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("conversation_id", "id"),
		index.Fields("sender_id", "client_id").
			Unique(),
	}
}
