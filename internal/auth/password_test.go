package auth

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) < 16 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			t.Fatalf("password %q is not ≥16 URL-safe characters", p)
		}
		if seen[p] {
			t.Fatalf("password %q generated twice", p)
		}
		seen[p] = true
	}
}

func TestHashVerify(t *testing.T) {
	// The production parameters, once: the hash must carry them.
	h := NewHasher(DefaultArgon2, 1)
	enc, err := h.Hash(context.Background(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry OWASP parameters", enc)
	}
	if err := h.Verify(context.Background(), "correct horse battery", enc); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := h.Verify(context.Background(), "wrong", enc); err != ErrMismatch {
		t.Fatalf("wrong password: %v", err)
	}
	enc2, _ := h.Hash(context.Background(), "correct horse battery")
	if enc2 == enc {
		t.Fatal("same hash twice: salt not random")
	}
	if err := h.Verify(context.Background(), "x", ""); err != ErrMismatch {
		t.Fatalf("empty hash (unknown account) must fail like a mismatch, got %v", err)
	}
	for _, bad := range []string{"plain", "$argon2id$v=19$m=x$a$b", "$bcrypt$..."} {
		if err := h.Verify(context.Background(), "x", bad); err == nil {
			t.Fatalf("malformed hash %q verified", bad)
		}
	}
}

// TestHasherBounded proves the pool: no more hashes run at once than slots.
func TestHasherBounded(t *testing.T) {
	h := NewHasher(Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			h.release()
		}()
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Fatalf("%d hashes at once, pool allows 2", peak.Load())
	}
	// A caller that gives up while waiting gets its context's error.
	h.slots <- struct{}{}
	h.slots <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); err != context.Canceled {
		t.Fatalf("hash with a full pool and cancelled ctx: %v", err)
	}
}
