// Package exact checks that an [sse.Broker] (alone or on a backplane)
// delivers exactly: every logical subscriber ("lineage"), cut and resumed
// with its last event id as EventSource would, gets the events of its
// rooms with no duplicate, in the one order, and with no gap except the
// ones a resync announces.
//
// [Run] drives a randomized workload over real HTTP and records what each
// connection read ([Trace]); [Check] judges the traces against the order
// seen by a reference observer, a client in every room that never
// disconnects. Check is pure, so it is tested on hand-made traces.
//
// The rules ([Check] enforces them):
//
//   - Generated event ids are decimal integers from one sequence, which
//     is also the order in which every client receives events: the
//     generated ids a lineage receives strictly increase. Caller ids come
//     back unchanged.
//   - A new stream (no Last-Event-ID) starts with a block without data
//     holding its position, id P; the lineage's last event id becomes P.
//   - A resumed stream (Last-Event-ID L) gets exactly the events of its
//     rooms and PublishAll published after L, in order, then the live
//     ones. If L cannot be replayed from, the first thing it gets is a
//     resync event with id P, and then every event after P.
//   - Nothing is ever received twice or out of order; a gap is allowed
//     only where a resync (or a new start) announces it.
package exact

import (
	"strconv"
	"strings"
)

// RecKind says what a [Rec] is.
type RecKind int

const (
	// RecEvent is a dispatched event of the workload.
	RecEvent RecKind = iota + 1
	// RecPosition is a block without data that set the last event id.
	RecPosition
	// RecResync is a resync event.
	RecResync
	// RecOther is any other dispatched event (its type is in Data).
	RecOther
)

// Rec is one thing a connection read that matters to the check.
type Rec struct {
	Kind RecKind
	// ID is the stream's last event id after this record.
	ID string
	// HasID: the record's own block had an id field.
	HasID bool
	// Token identifies a workload event (its data); for RecResync and
	// RecOther, Data holds the event's data or type.
	Token string
	Data  string
}

// Conn is one connection of a lineage.
type Conn struct {
	Node    int
	LastID  string // the Last-Event-ID it was opened with; "" for a new client
	ByQuery bool   // LastID went in the lastEventId query parameter
	Status  int    // the HTTP status; 0 if the request failed
	Err     string // why it could not be opened
	Recs    []Rec
	End     string // the last event id when it ended
}

// Trace is what one lineage, or one observer, read.
type Trace struct {
	Name  string
	Rooms []string // nil: every room (an observer)
	Conns []Conn
}

func (t *Trace) in(room string) bool {
	if t.Rooms == nil || room == "*" {
		return true
	}
	for _, r := range t.Rooms {
		if r == room {
			return true
		}
	}
	return false
}

// Pub is one published event.
type Pub struct {
	Room     string // "*" for PublishAll
	CallerID string // the id the publisher set, if any
	OK       bool   // Publish returned nil
}

// key orders ids: a decimal id n is {n, 0}; a Redis stream id a-b is
// {a, b}, so that the checker can still order ids of the other form.
type key struct{ hi, lo uint64 }

func (k key) less(o key) bool { return k.hi < o.hi || k.hi == o.hi && k.lo < o.lo }

// parseKey parses a generated id; decimal reports the required form.
func parseKey(id string) (k key, ok, decimal bool) {
	if n, err := strconv.ParseUint(id, 10, 64); err == nil && id[0] != '+' {
		return key{n, 0}, true, true
	}
	a, b, found := strings.Cut(id, "-")
	if !found {
		return key{}, false, false
	}
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || a == "" || b == "" || a[0] == '+' || b[0] == '+' {
		return key{}, false, false
	}
	return key{x, y}, true, false
}
