package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"testing"
)

// Replies from a real server are covered by TestSMTPSendFails; this covers
// the error shapes that need no server.
func TestIsTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unknown error", errors.New("boom"), false},
		{"4xx reply", &textproto.Error{Code: 421, Msg: "closing"}, true},
		{"wrapped 4xx reply", fmt.Errorf("dial failed: %w", &textproto.Error{Code: 452, Msg: "full"}), true},
		{"5xx reply", &textproto.Error{Code: 554, Msg: "no"}, false},
		{"server hung up", fmt.Errorf("smtp: %w", io.EOF), true},
		{"timeout", context.DeadlineExceeded, true},
		{"cancelled", context.Canceled, false},
		{"cancelled during a 4xx", fmt.Errorf("%w: %w", context.Canceled, &textproto.Error{Code: 451}), false},
		{"unusable mail", errNoBody, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTransient(tt.err); got != tt.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
