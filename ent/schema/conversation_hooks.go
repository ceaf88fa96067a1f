package schema

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/schema"
)

type schemaAnnotation = schema.Annotation

// pairSetter is the part of the generated ConversationMutation the hook needs.
type pairSetter interface {
	SenderID() (int, bool)
	RecipientID() (int, bool)
	SetUserLow(int)
	SetUserHigh(int)
}

// orderPair fills user_low/user_high from the participants so the unique
// index sees A→B and B→A as the same pair.
func orderPair(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if !m.Op().Is(ent.OpCreate) {
			return next.Mutate(ctx, m)
		}
		if pm, ok := m.(pairSetter); ok {
			s, okS := pm.SenderID()
			r, okR := pm.RecipientID()
			if okS && okR {
				pm.SetUserLow(min(s, r))
				pm.SetUserHigh(max(s, r))
			}
		}
		return next.Mutate(ctx, m)
	})
}
