package ratelimit

import (
	"sync"
	"testing"
	"time"
)

// TestLocal: a burst, then one token per 1/rate; keys are independent;
// refilled buckets are dropped; a nil Local allows everything.
func TestLocal(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLocal(10, 3)
	l.now = func() time.Time { return clock }
	for i := range 3 {
		if ok, _ := l.Take(1); !ok {
			t.Fatalf("take %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Take(1)
	if ok || retry != 100*time.Millisecond {
		t.Fatalf("over the burst: ok %v, retry after %v; want refused for 100ms", ok, retry)
	}
	if ok, _ := l.Take(2); !ok {
		t.Fatal("another key was limited too")
	}
	clock = clock.Add(50 * time.Millisecond)
	if ok, retry := l.Take(1); ok || retry != 50*time.Millisecond {
		t.Fatalf("half a token later: ok %v, retry after %v; want refused for 50ms", ok, retry)
	}
	clock = clock.Add(50 * time.Millisecond)
	if ok, _ := l.Take(1); !ok {
		t.Fatal("a token later: refused")
	}
	clock = clock.Add(localPruneEvery)
	l.Take(3)
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets after a minute idle, want only the one just used", n)
	}
	none := NewLocal(0, 30)
	for range 100 {
		if ok, _ := none.Take(1); !ok {
			t.Fatal("a disabled limit refused")
		}
	}
}

// TestLocalConcurrent: takes from many goroutines at once never hand out
// more than the burst.
func TestLocalConcurrent(t *testing.T) {
	l := NewLocal(1, 50)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := l.Take(7); ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted < 50 || granted > 51 {
		t.Fatalf("%d granted at once, want the burst of 50 (51 if a second passed)", granted)
	}
}
