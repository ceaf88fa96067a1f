package chat

import (
	"errors"
	"fmt"
	"time"

	"github.com/companyapi/companyapi/internal/store"
)

// Kind classifies an error so that each transport maps it in one place:
// internal/httpapi to a status code, internal/realtime to a reply payload.
type Kind int

// Error kinds returned by the chat and auth services.
const (
	KindInternal Kind = iota
	KindInvalid
	KindNotFound
	KindUnauthenticated
	KindForbidden
	KindConflict
	KindUnavailable
	KindRateLimited
)

// String names the kind as clients see it in a "reason".
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindConflict:
		return "conflict"
	case KindUnavailable:
		return "unavailable"
	case KindRateLimited:
		return "rate limited"
	default:
		return "internal error"
	}
}

// Error is the one error type the domain returns. Fields carries per-field
// messages in Ecto's wording ("can't be blank") for the seed's
// {"errors": {field: [msg]}} shape.
type Error struct {
	Kind    Kind
	Message string
	Fields  map[string][]string
	// RetryAfter, on KindRateLimited, is when the caller may try again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %v", e.Kind, e.Fields)
	}
	return e.Kind.String()
}

// KindOf returns the kind of err: an *Error's own, KindUnavailable for a
// store that could not answer in time, and KindInternal for anything else.
func KindOf(err error) Kind {
	if err == nil {
		return KindInternal
	}
	return AsError(err).Kind
}

// AsError returns err as an *Error. A store that could not answer in time
// (stopped, frozen, timed out) is ErrUnavailable, whatever call met it;
// other unknown errors are internal with a bland message, so details reach
// only the log.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if store.Unavailable(err) {
		return ErrUnavailable
	}
	return &Error{Kind: KindInternal, Message: "internal error"}
}

// ErrUnavailable is the answer when the store did not confirm in time: the
// client should try again (a send with the same client_id).
var ErrUnavailable = &Error{Kind: KindUnavailable, Message: "unavailable"}

// Errorf builds an *Error of kind k.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an invalid-input error for one field.
func FieldError(field, msg string) *Error {
	return &Error{Kind: KindInvalid, Message: "invalid " + field, Fields: map[string][]string{field: {msg}}}
}

// FieldErrors accumulates per-field messages; Err returns nil when empty.
type FieldErrors map[string][]string

// Add records msg for field.
func (f FieldErrors) Add(field, msg string) { f[field] = append(f[field], msg) }

// Err returns an invalid-kind *Error, or nil when nothing was added.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Message: "invalid input", Fields: map[string][]string(f)}
}

// ErrNotFound is returned for missing rows and for rows the caller may not see.
var ErrNotFound = &Error{Kind: KindNotFound, Message: "not found"}

// Reason is the word clients see for e, as REST's "message" and the
// socket's "reason" (api/errors.md): the kind's name, except that an
// unauthenticated error says what is wrong with the credentials.
func (e *Error) Reason() string {
	if e.Kind == KindUnauthenticated && e.Message != "" {
		return e.Message
	}
	return e.Kind.String()
}
