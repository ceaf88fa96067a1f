package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Conversation holds the schema definition for the Conversation entity.
//
// A and B share one conversation whatever the order. The seed's unique index
// on (sender_id, recipient_id) lets B→A exist beside A→B. An expression index
// on (least, greatest) would need different SQL on each store, so the pair is
// kept in two plain columns, user_low = min(sender, recipient) and user_high =
// max, set by a hook on every create, with one unique index that both
// PostgreSQL and SQLite enforce.
type Conversation struct {
	ent.Schema
}

// Mixin of the Conversation.
func (Conversation) Mixin() []ent.Mixin {
	return []ent.Mixin{Timestamps{}}
}

// Fields of the Conversation.
func (Conversation) Fields() []ent.Field {
	return []ent.Field{
		field.Int("sender_id").
			Immutable(),
		field.Int("recipient_id").
			Immutable(),
		field.Int("user_low").
			Immutable(),
		field.Int("user_high").
			Immutable(),
		field.String("status").
			Optional().
			Nillable().
			MaxLen(64),
		// last_activity_at orders a user's conversations, most recent first;
		// it is the creation time until a message moves it.
		field.Time("last_activity_at").
			Default(utcNow),
		field.Int("last_message_id").
			Optional().
			Nillable(),
		// Each participant's read mark (the last message they have read;
		// it never moves backwards) and how many of the other's messages
		// came after it. The counters are kept by the message writer and
		// the read mark, so that a conversation list costs O(page), never a
		// count over the messages.
		field.Int("sender_read_id").
			Optional().
			Nillable(),
		field.Int("recipient_read_id").
			Optional().
			Nillable(),
		field.Int("sender_unread").
			Default(0).
			NonNegative(),
		field.Int("recipient_unread").
			Default(0).
			NonNegative(),
	}
}

// Edges of the Conversation. Deleting a conversation deletes its messages
// (CASCADE): they have no meaning without it.
func (Conversation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("sender", User.Type).
			Ref("sender_conversations").
			Field("sender_id").
			Unique().
			Required().
			Immutable(),
		edge.From("recipient", User.Type).
			Ref("recipient_conversations").
			Field("recipient_id").
			Unique().
			Required().
			Immutable(),
		edge.To("messages", Message.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Conversation.
func (Conversation) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("user_low", "user_high").
			Unique(),
		index.Fields("user_high"),
		index.Fields("last_activity_at", "id"),
	}
}

// Annotations of the Conversation: the store itself refuses a conversation
// with oneself, and a pair that is not the ordered participants, so no
// writer (raw SQL included) can slip a second A↔B past the unique index.
func (Conversation) Annotations() []schemaAnnotation {
	return []schemaAnnotation{
		entsql.Checks(map[string]string{
			"conversation_distinct_users": "sender_id <> recipient_id",
			"conversation_ordered_pair":   "user_low < user_high",
			"conversation_pair_is_participants": "((user_low = sender_id AND user_high = recipient_id) OR " +
				"(user_low = recipient_id AND user_high = sender_id))",
		}),
	}
}

// Hooks of the Conversation.
func (Conversation) Hooks() []ent.Hook {
	return []ent.Hook{orderPair}
}
