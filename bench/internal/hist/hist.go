// Package hist is a small log-linear latency histogram: fixed memory,
// allocation-free recording, relative error under 1/32 (about 3 %), and
// an exact maximum. One histogram belongs to one goroutine; Merge combines
// them afterwards.
package hist

import (
	"math/bits"
	"time"
)

const (
	subBits = 5
	sub     = 1 << subBits // buckets per power of two
	// Values are microseconds; the last bucket holds everything from
	// 2^33 µs (2.4 hours) up.
	maxExp  = 31 - subBits
	buckets = (maxExp+2)*sub + sub
)

// Histogram counts durations. The zero value is empty and ready to use.
type Histogram struct {
	counts [buckets]uint32
	n      uint64
	max    time.Duration
}

func index(us uint64) int {
	if us < 2*sub {
		return int(us)
	}
	e := bits.Len64(us) - (subBits + 1)
	if e > maxExp+1 {
		return buckets - 1
	}
	return (e+1)*sub + int(us>>e) - sub
}

// lower returns the smallest value, in microseconds, of bucket i.
func lower(i int) uint64 {
	if i < 2*sub {
		return uint64(i)
	}
	e := i/sub - 1
	return uint64(i%sub+sub) << e
}

// Record adds one duration; negative durations (clock skew) count as 0.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.n++
	if d > h.max {
		h.max = d
	}
	h.counts[index(uint64(d/time.Microsecond))]++
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded duration, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns an estimate of the q-quantile (0 <= q <= 1): the middle
// of the bucket that holds it, never more than Max, and Max itself for
// q >= 1. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			lo := lower(i)
			mid := lo + (lower(i+1)-lo)/2
			return min(time.Duration(mid)*time.Microsecond, h.max)
		}
	}
	return h.max
}
