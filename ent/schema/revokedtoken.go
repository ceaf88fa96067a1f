package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// RevokedToken holds the schema definition for the RevokedToken entity: a
// logged-out JWT, kept until it would have expired anyway.
type RevokedToken struct {
	ent.Schema
}

// Fields of the RevokedToken.
func (RevokedToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("jti").
			Unique().
			NotEmpty().
			MaxLen(64).
			Immutable(),
		field.Time("expires_at").
			Immutable(),
	}
}

// Indexes of the RevokedToken: expires_at serves the periodic purge.
func (RevokedToken) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("expires_at"),
	}
}
