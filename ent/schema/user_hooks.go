package schema

import (
	"context"

	"entgo.io/ent"
)

// emailSetter is the part of the generated UserMutation the hook needs; an
// interface keeps ent/schema from importing the generated package.
type emailSetter interface {
	Email() (string, bool)
	SetEmail(string)
}

// normalizeEmail makes every write of an email store its normal form,
// whichever code path wrote it.
func normalizeEmail(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if um, ok := m.(emailSetter); ok {
			if e, ok := um.Email(); ok {
				um.SetEmail(NormalizeEmail(e))
			}
		}
		return next.Mutate(ctx, m)
	})
}
