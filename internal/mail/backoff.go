package mail

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is the wait after the given failed attempt (1-based): base doubled
// per earlier failure, capped at limit, then "equal jitter" (half fixed,
// half random) so workers that failed together do not retry together, while
// never collapsing to no wait at all.
func backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for d or until ctx ends, and reports whether it waited fully.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
