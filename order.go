package sse

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// order is the broker's one sequence of kept events (those of rooms and
// PublishAll while History is on). Its mu is held while a kept event
// takes its position and is handed to every recipient's queue, and while
// a client registers, so a position is also the order in which every
// client receives kept events, across rooms and PublishAll alike. That is
// what makes one Last-Event-ID enough to resume a client in many rooms:
// everything before its position reached it, nothing after it did.
//
// With a Backplane the positions come from it (Message.Seq) and mu orders
// its deliveries against registrations in the same way.
type order struct {
	mu    sync.Mutex
	last  atomic.Uint64 // the newest position handed out or delivered; written under mu
	first uint64        // this broker's first position; older ones belong to another process
}

func (o *order) start(now time.Time) {
	o.first = uint64(now.UnixNano())
	o.last.Store(o.first)
}

// next returns a new position, needing o.mu: the wall clock in
// nanoseconds, or one more than the last position when the clock has not
// moved past it. Positions are taken one at a time under mu, each publish
// taking far longer than a nanosecond, so they never run ahead of the
// clock by more than a few nanoseconds, and a broker started later, even
// right after a burst, begins above every position its predecessor handed
// out (unless the wall clock is stepped back between the two).
func (o *order) next(now time.Time) uint64 {
	p := uint64(now.UnixNano())
	if last := o.last.Load(); p <= last {
		p = last + 1
	}
	o.last.Store(p)
	return p
}

// advance records a position delivered by a Backplane; it needs o.mu.
func (o *order) advance(p uint64) {
	if p > o.last.Load() {
		o.last.Store(p)
	}
}

// parsePosition reads a position id: a decimal number in canonical form.
func parsePosition(id string) (uint64, bool) {
	p, err := strconv.ParseUint(id, 10, 64)
	if err != nil || p == 0 || strconv.FormatUint(p, 10) != id {
		return 0, false
	}
	return p, true
}

func formatPosition(p uint64) string { return strconv.FormatUint(p, 10) }

// checkKeptID refuses, for an event kept for replay, a caller's id that
// could be taken for a position: a decimal number of 16 digits or more
// (positions are the clock in nanoseconds, 19 digits, or on Redis in
// microseconds, 16). A client resuming from such an id once the event
// has left the history would be replayed from that instant instead of
// resynced.
func checkKeptID(id string) error {
	if len(id) < 16 || strings.IndexFunc(id, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return nil
	}
	return &EventError{Field: "id", Reason: "is a decimal number of 16 digits or more, which is kept for the broker's positions; give it another form (a prefix, say)"}
}
