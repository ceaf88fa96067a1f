package mail

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const base, limit = 100 * time.Millisecond, time.Second
	tests := []struct {
		attempt int
		full    time.Duration // before jitter
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{40, time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			got := Backoff(base, limit, tt.attempt)
			if got < tt.full/2 || got > tt.full {
				t.Fatalf("Backoff(attempt %d) = %v, want within [%v, %v]", tt.attempt, got, tt.full/2, tt.full)
			}
		}
	}
}
