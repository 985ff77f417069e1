// Package wire is what the bench server and the load generator share: the
// event payload and the control answer. The data of every benchmark event
// starts with its per-room sequence number and the publisher's wall-clock
// time, so that the receiver can count lost events and measure
// publish-to-receive latency without any side channel.
//
// A payload is ASCII "<seq> <unix-nanos> " padded with 'x' to the
// requested size, with no CR or LF, so every implementation sends it as
// one data line.
package wire

import "strconv"

// MinSize is the smallest payload that holds any sequence number and
// timestamp that Decode accepts (two 19-digit numbers and two spaces).
const MinSize = 40

// Encode returns a payload of exactly size bytes (at least MinSize)
// carrying seq (below 10^19) and the publish time ts (Unix nanoseconds).
func Encode(seq uint64, ts int64, size int) []byte {
	if size < MinSize {
		size = MinSize
	}
	b := make([]byte, 0, size)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, ' ')
	for len(b) < size {
		b = append(b, 'x')
	}
	return b
}

// Decode reads the sequence number and timestamp from the start of a
// payload. ok is false when p does not start with two space-terminated
// decimal numbers, as for events that some other server sent.
func Decode(p []byte) (seq uint64, ts int64, ok bool) {
	i := 0
	seq, i, ok = digits(p, i)
	if !ok {
		return 0, 0, false
	}
	var t uint64
	t, _, ok = digits(p, i)
	if !ok {
		return 0, 0, false
	}
	return seq, int64(t), true
}

// digits parses decimal digits at p[i:] up to a space and returns the
// value and the index after the space.
func digits(p []byte, i int) (uint64, int, bool) {
	var v uint64
	start := i
	for ; i < len(p) && p[i] != ' '; i++ {
		c := p[i] - '0'
		if c > 9 || i-start >= 19 {
			return 0, 0, false
		}
		v = v*10 + uint64(c)
	}
	if i == start || i == len(p) {
		return 0, 0, false
	}
	return v, i + 1, true
}

// PublishResult is the bench server's answer to POST /ctl/publish.
type PublishResult struct {
	Rounds   int     `json:"rounds"`    // rounds published
	Events   int     `json:"events"`    // events published: rounds times rooms
	FirstSeq uint64  `json:"first_seq"` // sequence number of the first round
	Elapsed  float64 `json:"elapsed_s"`
	Err      string  `json:"error,omitempty"` // the first Publish error, if any
}

// ShutdownResult is the bench server's answer to POST /ctl/shutdown.
type ShutdownResult struct {
	Elapsed float64 `json:"elapsed_s"`       // how long the implementation's Shutdown took
	Err     string  `json:"error,omitempty"` // its error, if any
}
