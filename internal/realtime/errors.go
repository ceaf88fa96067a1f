package realtime

import (
	"errors"
	"net/http"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
)

// protocolError is a refusal this package decides itself, named as Phoenix
// names it in a reply's "reason".
type protocolError string

func (e protocolError) Error() string { return string(e) }

const (
	errUnmatchedTopic protocolError = "unmatched topic"
	errUnknownEvent   protocolError = "unknown event"
	errJoinCrashed    protocolError = "join crashed"
)

// errorReply is the "response" of a phx_reply whose status is "error".
type errorReply struct {
	Reason string              `json:"reason"`
	Errors map[string][]string `json:"errors,omitempty"`
	// RetryAfterMS, on "rate limited", is when to send again.
	RetryAfterMS int64 `json:"retry_after_ms,omitempty"`
}

// errorResponse is the one mapping from an error to a phx_reply error
// response: the chat error kind becomes "reason" and its per-field messages
// become "errors", the seed's {"errors": {field: [msg]}} shape. Internal
// errors say only "internal error"; their detail goes to the log.
func errorResponse(err error) errorReply {
	var pe protocolError
	if errors.As(err, &pe) {
		return errorReply{Reason: string(pe)}
	}
	e := chat.AsError(err)
	r := errorReply{Reason: e.Kind.String(), Errors: e.Fields}
	if e.RetryAfter > 0 {
		r.RetryAfterMS = int64((e.RetryAfter + time.Millisecond - 1) / time.Millisecond) // never sooner than allowed
	}
	return r
}

// connectRefusal is the HTTP answer to a token the Authenticator did not
// accept (a store that could not check it is answered before, with 503),
// in the words REST uses for the same token (api/errors.md): 403 and what
// is wrong with it (an unauthenticated *chat.Error's message: "invalid
// token", "token expired", "token revoked"), 500 "internal error" for a
// bug.
func connectRefusal(err error) (int, string) {
	var e *chat.Error
	switch {
	case errors.As(err, &e) && e.Kind == chat.KindUnauthenticated:
		return http.StatusForbidden, e.Reason()
	case errors.Is(err, errBadAuthToken) || errors.Is(err, errNoUser):
		return http.StatusForbidden, wordInvalidToken
	default:
		return http.StatusInternalServerError, chat.KindInternal.String()
	}
}

// The words of the connect refusals this package decides itself.
const (
	wordMissingToken = "missing token"
	wordInvalidToken = "invalid token"
	wordTokenExpired = "token expired"
	wordTokenRevoked = "token revoked"
	// wordTooManySockets refuses a connect over MaxSocketsPerUser (429).
	wordTooManySockets = "too many sockets"
	wordTooManyConns   = "too many connections"
)
