package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
)

// Timestamps adds inserted_at and updated_at, named as in the seed's Ecto
// schemas so the JSON and columns keep their names.
type Timestamps struct {
	mixin.Schema
}

// Fields of the Timestamps mixin.
func (Timestamps) Fields() []ent.Field {
	return []ent.Field{
		field.Time("inserted_at").
			Default(utcNow).
			Immutable(),
		field.Time("updated_at").
			Default(utcNow).
			UpdateDefault(utcNow),
	}
}

func utcNow() time.Time { return time.Now().UTC() }
