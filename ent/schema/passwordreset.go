package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// PasswordReset holds the schema definition for the PasswordReset entity:
// the one live password reset token of a user. Only the token's SHA-256 is
// kept, so the table gives nobody who reads it a way into an account; the
// token itself exists only in the mail. A user has at most one: a newer
// token replaces the older, and using it deletes it.
type PasswordReset struct {
	ent.Schema
}

// Fields of the PasswordReset.
func (PasswordReset) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").
			Immutable(),
		// token_hash is the hex SHA-256 of the token: the token carries 256
		// random bits, so a plain hash is as strong as a slow one here, and
		// a lookup by it is one index probe.
		field.String("token_hash").
			Unique().
			NotEmpty().
			MaxLen(64),
		field.Time("expires_at"),
		field.Time("created_at").
			Default(utcNow),
	}
}

// Edges of the PasswordReset.
func (PasswordReset) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).
			Ref("password_reset").
			Field("user_id").
			Unique().
			Required().
			Immutable(),
	}
}

// Indexes of the PasswordReset: expires_at serves the purge of expired
// tokens.
func (PasswordReset) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("expires_at"),
	}
}
