package hist_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/roomcast/sse/bench/internal/hist"
)

func TestQuantileAccuracy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{name: "uniform microseconds", gen: func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(100)) * time.Microsecond }},
		{name: "uniform milliseconds", gen: func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(50_000_000)) }},
		{name: "exponential", gen: func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * 2e6) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			var h hist.Histogram
			vals := make([]time.Duration, 20000)
			for i := range vals {
				vals[i] = tt.gen(r)
				h.Record(vals[i])
			}
			slices.Sort(vals)
			if h.Count() != uint64(len(vals)) || h.Max() != vals[len(vals)-1] {
				t.Fatalf("count %d max %v, want %d %v", h.Count(), h.Max(), len(vals), vals[len(vals)-1])
			}
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
				want := vals[int(q*float64(len(vals)-1))]
				got := h.Quantile(q)
				// Bucket half-width: 1/64 relative, or 1µs at the bottom.
				tol := want/30 + time.Microsecond
				if got < want-tol || got > want+tol {
					t.Errorf("q%.3f = %v, want %v ± %v", q, got, want, tol)
				}
			}
		})
	}
}

func TestMergeAndEdges(t *testing.T) {
	t.Parallel()
	var a, b hist.Histogram
	if a.Quantile(0.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
	a.Record(-time.Second) // clock skew counts as zero
	b.Record(time.Hour)    // beyond the last bucket
	a.Merge(&b)
	if a.Count() != 2 || a.Max() != time.Hour || a.Quantile(0) != 0 || a.Quantile(1) != time.Hour {
		t.Fatalf("count %d max %v q0 %v q1 %v", a.Count(), a.Max(), a.Quantile(0), a.Quantile(1))
	}
}
