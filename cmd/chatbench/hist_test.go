package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 1 << 20, 1<<20 + 1, 123456789, 1 << 62, math.MaxInt64} {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("bucketOf(%d) = %d holding [%d, %d]", v, i, lo, hi)
		}
		if i < prev {
			t.Errorf("bucketOf(%d) = %d, below the previous value's %d", v, i, prev)
		}
		if i >= nBuckets {
			t.Errorf("bucketOf(%d) = %d, out of %d buckets", v, i, nBuckets)
		}
		prev = i
	}
	// Buckets tile the line: each starts right after the previous one.
	for i := 1; i < nBuckets; i++ {
		_, phi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != phi+1 {
			t.Fatalf("bucket %d starts at %d, bucket %d ends at %d", i, lo, i-1, phi)
		}
	}
}

func TestQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Hist
	samples := make([]time.Duration, 100000)
	for i := range samples {
		// Log-normal-ish latencies around a millisecond, with a tail.
		samples[i] = time.Duration(math.Exp(r.NormFloat64()*1.2) * float64(time.Millisecond))
		h.Record(samples[i])
	}
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := samples[int(math.Ceil(q*float64(len(samples))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 1.0/subCount {
			t.Errorf("p%v = %v, sorted samples say %v (off by %.1f%%)", q*100, got, want, rel*100)
		}
	}
	if h.Max() != samples[len(samples)-1] || h.Quantile(1) != h.Max() {
		t.Errorf("max %v, p100 %v, want %v", h.Max(), h.Quantile(1), samples[len(samples)-1])
	}
	if h.Count() != uint64(len(samples)) {
		t.Errorf("count %d", h.Count())
	}
}

func TestHistEdges(t *testing.T) {
	t.Run("ok, empty", func(t *testing.T) {
		var h Hist
		if s := h.Summary(); s != (Summary{}) {
			t.Errorf("empty summary %+v", s)
		}
	})
	t.Run("ok, one value", func(t *testing.T) {
		var h Hist
		h.Record(1234567 * time.Nanosecond)
		for _, q := range []float64{0, 0.5, 0.999, 1} {
			if got := h.Quantile(q); got != 1234567*time.Nanosecond {
				t.Errorf("q%v = %v", q, got)
			}
		}
	})
	t.Run("ok, negative is zero", func(t *testing.T) {
		var h Hist
		h.Record(-time.Second)
		if h.Max() != 0 || h.Quantile(0.5) != 0 {
			t.Errorf("max %v p50 %v", h.Max(), h.Quantile(0.5))
		}
	})
	t.Run("ok, merge", func(t *testing.T) {
		var a, b, both Hist
		for i := range 1000 {
			d := time.Duration(i) * time.Microsecond
			if i%3 == 0 {
				a.Record(d)
			} else {
				b.Record(d)
			}
			both.Record(d)
		}
		a.Merge(&b)
		if a.Summary() != both.Summary() {
			t.Errorf("merged %+v, want %+v", a.Summary(), both.Summary())
		}
	})
	t.Run("ok, summary in ms", func(t *testing.T) {
		var h Hist
		for range 99 {
			h.Record(time.Millisecond)
		}
		h.Record(100 * time.Millisecond)
		s := h.Summary()
		if s.P50MS < 0.97 || s.P50MS > 1.03 || s.MaxMS != 100 || s.P999MS < 97 {
			t.Errorf("summary %+v", s)
		}
	})
}
