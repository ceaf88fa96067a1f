package chat

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/companyapi/companyapi/ent/schema"
)

// The password policy, for a change and a reset alike. Generated passwords
// (24 characters) obey it.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

// The messages naming the rule a new password breaks.
var (
	MsgPasswordShort      = fmt.Sprintf("should be at least %d character(s)", MinPasswordLen)
	MsgPasswordLong       = fmt.Sprintf("should be at most %d character(s)", MaxPasswordLen)
	MsgPasswordWhitespace = "can't be only whitespace"
	MsgPasswordIsEmail    = "can't be your email"
)

// checkPassword records on field every rule password breaks as the new
// password of the account whose (normalized) email is email.
func checkPassword(errs FieldErrors, field, password, email string) {
	n := utf8.RuneCountInString(password)
	switch {
	case password == "":
		errs.Add(field, MsgBlank)
		return
	case !storable(password):
		errs.Add(field, MsgInvalid)
		return
	case n < MinPasswordLen:
		errs.Add(field, MsgPasswordShort)
	case n > MaxPasswordLen:
		errs.Add(field, MsgPasswordLong)
	}
	if strings.IndexFunc(password, visible) < 0 {
		errs.Add(field, MsgPasswordWhitespace)
	} else if email != "" && schema.NormalizeEmail(password) == email {
		errs.Add(field, MsgPasswordIsEmail)
	}
}

// visible reports a character that shows: not a space, a control or a
// format character (zero-width space, bidi marks), which would make a
// password of "nothing" look long enough.
func visible(r rune) bool {
	return !unicode.IsSpace(r) && !unicode.In(r, unicode.Cc, unicode.Cf)
}

// ValidatePasswordChange checks a password change's input without the
// store: both present, the new one within the policy for the account of
// email. ChangePassword applies it too; transports call it to report these
// errors together with their own.
func ValidatePasswordChange(current, next, email string) error {
	errs := FieldErrors{}
	if current == "" {
		errs.Add("current", MsgBlank)
	}
	checkPassword(errs, "new", next, email)
	return errs.Err()
}
