package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// RateLimit holds the schema definition for the RateLimit entity: one
// token bucket (internal/ratelimit), kept in the database so that every
// node of a cluster spends the same budget.
type RateLimit struct {
	ent.Schema
}

// Fields of the RateLimit. updated_ms is Unix milliseconds, so both stores
// do the bucket's arithmetic in SQL alike.
func (RateLimit) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").
			Unique().
			NotEmpty().
			MaxLen(200),
		field.Float("tokens"),
		field.Int64("updated_ms"),
	}
}

// Indexes of the RateLimit: updated_ms serves the purge of idle buckets.
func (RateLimit) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("updated_ms"),
	}
}
