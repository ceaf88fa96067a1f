package realtime

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
)

func TestErrorResponse(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errorReply
	}{
		{"unmatched topic", errUnmatchedTopic, errorReply{Reason: "unmatched topic"}},
		{"unknown event", errUnknownEvent, errorReply{Reason: "unknown event"}},
		{"not found", chat.ErrNotFound, errorReply{Reason: "not found"}},
		{"wrapped forbidden", fmt.Errorf("send: %w", chat.Errorf(chat.KindForbidden, "no")), errorReply{Reason: "forbidden"}},
		{"field errors", chat.FieldError("content", "can't be blank"), errorReply{Reason: "invalid", Errors: map[string][]string{"content": {"can't be blank"}}}},
		{"rate limited", &chat.Error{Kind: chat.KindRateLimited, RetryAfter: 1500 * time.Microsecond}, errorReply{Reason: "rate limited", RetryAfterMS: 2}},
		{"timeout", fmt.Errorf("db: %w", context.DeadlineExceeded), errorReply{Reason: "unavailable"}},
		{"anything else", errors.New("pq: connection refused"), errorReply{Reason: "internal error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorResponse(tt.err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
