package eventsource

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// backoff is the wait before reconnecting after failures attempts in a
// row that delivered nothing (zero after a stream that delivered
// events): the reconnection time retry, doubled for each failure up to
// limit (but never below retry), plus a random jitter of up to half of
// that, so that clients dropped together come back spread out. The
// standard allows waiting longer than the reconnection time, never
// shorter.
func backoff(retry, limit time.Duration, failures int) time.Duration {
	d := retry
	for range failures {
		if d >= limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	d = max(d, retry)
	if d <= 0 {
		return 0
	}
	return d + rand.N(d/2+1)
}

// retryAfter reads an answer's Retry-After header, in seconds or as an
// HTTP date; zero if there is none or it cannot be read.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// retryField converts a retry field's milliseconds, capped so that the
// duration cannot overflow.
func retryField(ms int64) time.Duration {
	const maxMS = int64(365 * 24 * time.Hour / time.Millisecond)
	return time.Duration(min(ms, maxMS)) * time.Millisecond
}
