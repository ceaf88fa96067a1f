package chat

import (
	"github.com/companyapi/companyapi/ent"
)

// fromEnt translates Ent's errors into domain kinds: the one place handlers'
// errors meet the store's.
func fromEnt(err error) error {
	switch {
	case err == nil:
		return nil
	case ent.IsNotFound(err):
		return ErrNotFound
	case ent.IsConstraintError(err):
		return &Error{Kind: KindConflict, Message: "conflict"}
	case ent.IsValidationError(err):
		ve := err.(*ent.ValidationError)
		return FieldError(ve.Name, "is invalid")
	default:
		return err
	}
}
