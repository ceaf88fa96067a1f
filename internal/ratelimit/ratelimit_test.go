package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestBudgetIsShared: two limiters on one store, as two nodes, spend one
// budget — a burst spread over them is limited as one — and a bucket
// refills with time.
func TestBudgetIsShared(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var clock atomic.Int64
		clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
		node := func() *Limiter {
			l := New(st.Client, st.Dialect, 5)
			l.now = func() time.Time { return time.UnixMilli(clock.Load()) }
			return l
		}
		a, b := node(), node()
		for i := range 5 {
			l := []*Limiter{a, b}[i%2]
			if ok, _, err := l.Allow(ctx, "ip:1"); err != nil || !ok {
				t.Fatalf("take %d: %v, %v; want allowed", i+1, ok, err)
			}
		}
		ok, retry, err := b.Allow(ctx, "ip:1")
		if err != nil || ok || retry < 11*time.Second || retry > 13*time.Second {
			t.Fatalf("sixth take: ok %v, retry after %v (%v); want refused for about 12 s", ok, retry, err)
		}
		if ok, _, _ := a.Allow(ctx, "ip:2"); !ok {
			t.Fatal("another key was limited too")
		}
		clock.Add((12 * time.Second).Milliseconds())
		if ok, _, err := a.Allow(ctx, "ip:1"); err != nil || !ok {
			t.Fatalf("after 12 s: %v, %v; want a token back", ok, err)
		}
		if ok, _, _ := b.Allow(ctx, "ip:1"); ok {
			t.Fatal("two tokens back after 12 s at 5 a minute")
		}
		clock.Add(time.Hour.Milliseconds())
		if n, err := a.Purge(ctx); err != nil || n != 2 {
			t.Fatalf("purged %d (%v), want both idle buckets", n, err)
		}
	})
}

// TestConcurrentTakes: simultaneous takes never spend a token twice.
func TestConcurrentTakes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		l := New(st.Client, st.Dialect, 5)
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				ok, _, err := l.Allow(context.Background(), "burst")
				if err != nil {
					t.Error(err)
				}
				if ok {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != 5 {
			t.Fatalf("%d of 20 simultaneous takes allowed, want 5", allowed.Load())
		}
	})
}

// TestClockSkew: nodes' clocks differ. A node whose clock is behind must
// neither drain the bucket (a negative refill) nor move its last use back,
// which would later refill, for a node with the right time, what the
// bucket already got.
func TestClockSkew(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		node := func(skew time.Duration) *Limiter {
			l := New(st.Client, st.Dialect, 5)
			l.now = func() time.Time { return at.Add(skew) }
			return l
		}
		right, behind := node(0), node(-time.Minute)
		if ok, _, err := right.Allow(ctx, "k"); err != nil || !ok {
			t.Fatalf("first take: %v, %v; want allowed", ok, err)
		}
		// Four tokens are left; the node a minute behind sees them.
		if ok, retry, err := behind.Allow(ctx, "k"); err != nil || !ok {
			t.Fatalf("take on the node a minute behind: ok %v, retry after %v (%v); want allowed", ok, retry, err)
		}
		// Three are left, with no time passed on the right clock.
		for i := range 3 {
			if ok, _, err := right.Allow(ctx, "k"); err != nil || !ok {
				t.Fatalf("take %d of the 3 left: %v, %v; want allowed", i+1, ok, err)
			}
		}
		ok, retry, err := right.Allow(ctx, "k")
		if err != nil || ok {
			t.Fatalf("a sixth take at the same time: %v (%v); want refused", ok, err)
		}
		if retry < 11*time.Second || retry > 13*time.Second {
			t.Fatalf("retry after %v, want about 12 s (one token at 5 a minute)", retry)
		}
		if ok, retry, err := behind.Allow(ctx, "k"); err != nil || ok || retry > 13*time.Second {
			t.Fatalf("the node behind on the empty bucket: ok %v, retry after %v (%v); want refused for about 12 s", ok, retry, err)
		}
	})
}
