package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Local keeps token buckets in this process's memory, for limits checked
// so often (every message sent) that a database round trip each would
// cost more than what they protect. Each node keeps its own buckets, so a
// client spread over N nodes gets N budgets.
type Local struct {
	perSec, burst float64
	now           func() time.Time

	mu      sync.Mutex
	buckets map[int]*localBucket
	pruned  time.Time
}

type localBucket struct {
	tokens float64
	at     time.Time
}

// localPruneEvery is how often idle buckets are dropped: a bucket that has
// refilled is the same as none.
const localPruneEvery = time.Minute

// NewLocal returns buckets of burst tokens refilled at perSecond; nil
// (which allows everything) when perSecond is 0.
func NewLocal(perSecond, burst int) *Local {
	if perSecond <= 0 {
		return nil
	}
	return &Local{perSec: float64(perSecond), burst: float64(max(burst, 1)), now: time.Now, buckets: make(map[int]*localBucket)}
}

// Take takes a token from key's bucket. When it is empty, ok is false and
// retryAfter says when a token will be there. A nil Local allows all.
func (l *Local) Take(key int) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.pruned) >= localPruneEvery {
		l.prune(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &localBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.perSec)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration(math.Ceil((1 - b.tokens) / l.perSec * float64(time.Second)))
	return false, max(wait, time.Millisecond)
}

// prune drops the buckets that are full again at now.
func (l *Local) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.perSec >= l.burst {
			delete(l.buckets, k)
		}
	}
	l.pruned = now
}
