// Package ratelimit keeps token buckets in the database, so that a limit
// holds for a whole cluster: a burst spread over several nodes spends one
// budget, where per-process buckets would allow N nodes N times as much.
// Each take is one statement, atomic on both stores.
package ratelimit

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/ratelimit"
)

// Limiter takes tokens from buckets named by key.
type Limiter struct {
	client *ent.Client
	sql    string
	// perMS is the refill rate in tokens per millisecond; burst the
	// bucket's size.
	perMS float64
	burst float64
	now   func() time.Time
}

// New returns a Limiter of perMinute tokens a minute, with a burst of as
// many, over the store's client; dialect is "sqlite" or "postgres".
func New(client *ent.Client, dialect string, perMinute int) *Limiter {
	l := &Limiter{client: client, sql: takeSQLite, perMS: float64(perMinute) / 60000, burst: float64(perMinute), now: time.Now}
	if dialect == "postgres" {
		l.sql = takePG
	}
	return l
}

// takePG refills the bucket for the time since it was last used and takes
// a token. It returns a row only when it took one: an empty bucket is left
// as it is (its refill is computed lazily, next time). $1 key, $2 burst,
// $3 now (ms), $4 tokens per ms.
//
// Nodes' clocks differ: a node whose clock is behind the bucket's last use
// refills nothing (a negative time would drain it) and leaves the last use
// where it is (moved back, the time would be refilled twice).
const takePG = `INSERT INTO rate_limits (key, tokens, updated_ms) VALUES ($1, $2::float8 - 1, $3::bigint)
ON CONFLICT (key) DO UPDATE SET
	tokens = LEAST($2::float8, rate_limits.tokens + GREATEST(0, $3::bigint - rate_limits.updated_ms) * $4::float8) - 1,
	updated_ms = GREATEST(rate_limits.updated_ms, $3::bigint)
WHERE LEAST($2::float8, rate_limits.tokens + GREATEST(0, $3::bigint - rate_limits.updated_ms) * $4::float8) >= 1
RETURNING tokens`

// takeSQLite is takePG in SQLite's words: its scalar MIN and MAX are
// PostgreSQL's LEAST and GREATEST.
const takeSQLite = `INSERT INTO rate_limits (key, tokens, updated_ms) VALUES (?1, ?2 - 1, ?3)
ON CONFLICT (key) DO UPDATE SET
	tokens = MIN(?2, rate_limits.tokens + MAX(0, ?3 - rate_limits.updated_ms) * ?4) - 1,
	updated_ms = MAX(rate_limits.updated_ms, ?3)
WHERE MIN(?2, rate_limits.tokens + MAX(0, ?3 - rate_limits.updated_ms) * ?4) >= 1
RETURNING tokens`

// Allow takes a token from key's bucket. When it is empty, ok is false and
// retryAfter says when a token will be there.
func (l *Limiter) Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error) {
	now := l.now().UnixMilli()
	rows, err := l.client.QueryContext(ctx, l.sql, key, l.burst, now, l.perMS)
	if err != nil {
		return false, 0, err
	}
	took := rows.Next()
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return false, 0, err
	}
	if took {
		return true, 0, nil
	}
	b, err := l.client.RateLimit.Query().Where(ratelimit.Key(key)).Only(ctx)
	if err != nil {
		return false, 0, err
	}
	have := min(l.burst, b.Tokens+float64(max(0, now-b.UpdatedMs))*l.perMS)
	wait := time.Duration(math.Ceil((1-have)/l.perMS)) * time.Millisecond
	return false, max(wait, time.Second), nil
}

// Purge deletes buckets unused for longer than a full refill: they are
// full again, the same as no row.
func (l *Limiter) Purge(ctx context.Context) (int, error) {
	full := time.Duration((l.burst+1)/l.perMS) * time.Millisecond
	return l.client.RateLimit.Delete().Where(ratelimit.UpdatedMsLT(l.now().Add(-full).UnixMilli())).Exec(ctx)
}
