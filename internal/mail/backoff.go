package mail

import (
	"math/rand/v2"
	"time"
)

// Backoff is the wait after the given failed attempt (1-based): base doubled
// per earlier failure, capped at limit, then "equal jitter" (half fixed,
// half random) so workers that failed together do not retry together, while
// never collapsing to no wait at all.
func Backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	half := d / 2
	return half + rand.N(d-half+1)
}
