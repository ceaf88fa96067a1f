package realtime

import (
	"errors"

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
	return errorReply{Reason: e.Kind.String(), Errors: e.Fields}
}
