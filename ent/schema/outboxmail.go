package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// OutboxMail holds the schema definition for the OutboxMail entity: a mail
// to send, written in the same transaction as what causes it (a
// registration), so that it survives restarts and crashes and is sent once
// by whichever node claims it.
//
// A row never holds a secret: the password or reset token a mail carries is
// made by the sender just before it sends, and only its hash is stored.
type OutboxMail struct {
	ent.Schema
}

// Fields of the OutboxMail.
func (OutboxMail) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").
			Values("welcome", "password_reset").
			Immutable(),
		field.Int("user_id").
			Immutable(),
		field.String("to").
			MaxRuneLen(255).
			Immutable(),
		field.Time("created_at").
			Default(utcNow).
			Immutable(),
		field.Int("attempts").
			Default(0).
			NonNegative(),
		// next_attempt_at is when the mail may be tried (again).
		field.Time("next_attempt_at").
			Default(utcNow),
		// claimed_until is the lease of the node sending it: another node
		// takes the mail over only once the lease has run out (its sender
		// died).
		field.Time("claimed_until").
			Optional().
			Nillable(),
		field.Time("sent_at").
			Optional().
			Nillable(),
		// failed_at is set when the mail is given up: a permanent refusal,
		// or transient failures for longer than the retry period.
		field.Time("failed_at").
			Optional().
			Nillable(),
		field.String("last_error").
			Optional().
			Nillable().
			MaxLen(1000),
	}
}

// Edges of the OutboxMail.
func (OutboxMail) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).
			Ref("outbox_mails").
			Field("user_id").
			Unique().
			Required().
			Immutable(),
	}
}

// Indexes of the OutboxMail: the senders' claim reads the pending mails in
// next_attempt_at order, from a partial index that holds only those.
func (OutboxMail) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("next_attempt_at").
			Annotations(entsql.IndexWhere("sent_at IS NULL AND failed_at IS NULL")),
		index.Fields("user_id"),
	}
}
