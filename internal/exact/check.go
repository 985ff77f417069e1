package exact

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Kinds of violations.
const (
	KindUnknownEvent   = "unknown event"        // data that no publisher sent
	KindForeign        = "foreign event"        // an event of a room the lineage is not in
	KindDuplicate      = "duplicate"            // an event received twice
	KindReorder        = "reorder"              // against the reference order
	KindIDsDecrease    = "ids not increasing"   // generated ids out of order
	KindIDForm         = "id not decimal"       // a generated id that is not a decimal integer
	KindCallerID       = "caller id changed"    // the publisher's id did not come back
	KindNoID           = "event without id"     // a kept event with no id field
	KindNoPosition     = "no start position"    // a new stream that did not begin with id: P
	KindBadPosition    = "unknown position"     // a position or resync id the reference cannot place
	KindBackwards      = "position backwards"   // a position before what was received
	KindResyncLate     = "resync not first"     // a resync after something else on its stream
	KindResyncUnasked  = "resync unasked"       // a resync on a new stream, or mid-stream in process
	KindResyncNoID     = "resync without id"    // a resync that carries no position
	KindResyncData     = "resync data"          // a resync that does not name the id it answers
	KindOtherEvent     = "unexpected event"     // an event type the workload never sends
	KindGap            = "gap"                  // events of the lineage's rooms missing from a segment
	KindExtra          = "extra"                // events a segment should not have had
	KindMismatch       = "mismatch"             // both
	KindNotDrained     = "did not catch up"     // the lineage ended short of the reference's end
	KindReferenceMiss  = "reference missed"     // a published event the reference observer never got
	KindReferenceEnded = "reference incomplete" // the reference observer's stream ended
)

// Violation is one breach of the rules by one trace.
type Violation struct {
	Kind   string
	Trace  string
	Detail string
}

// Result is what [Check] found.
type Result struct {
	Violations []Violation // at most maxPerKind of each kind
	Counts     map[string]int
	kinds      []string // in order of first appearance
}

// maxPerKind bounds the violations kept in detail; Counts has them all.
const maxPerKind = 50

func (r *Result) add(kind, trace, format string, args ...any) {
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	if r.Counts[kind] == 0 {
		r.kinds = append(r.kinds, kind)
	}
	r.Counts[kind]++
	if r.Counts[kind] <= maxPerKind {
		r.Violations = append(r.Violations, Violation{kind, trace, fmt.Sprintf(format, args...)})
	}
}

// Failed reports whether any rule was broken.
func (r *Result) Failed() bool { return len(r.Counts) > 0 }

// Format describes the violations: counts by kind, then up to perKind of
// each kind and max in all.
func (r *Result) Format(perKind, max int) string {
	if !r.Failed() {
		return "no violations"
	}
	var b strings.Builder
	total := 0
	for _, n := range r.Counts {
		total += n
	}
	fmt.Fprintf(&b, "%d violations:", total)
	for _, k := range r.kinds {
		fmt.Fprintf(&b, " %s %d;", k, r.Counts[k])
	}
	shown := 0
	for _, k := range r.kinds {
		n := 0
		for _, v := range r.Violations {
			if v.Kind != k || n == perKind || shown == max {
				continue
			}
			fmt.Fprintf(&b, "\n[%s] %s: %s", v.Kind, v.Trace, v.Detail)
			n++
			shown++
		}
	}
	if shown < total {
		fmt.Fprintf(&b, "\n(%d more not shown)", total-shown)
	}
	return b.String()
}

// Options adjusts the rules.
type Options struct {
	// GapResyncs allows a resync in the middle of a stream: a backplane
	// that lost messages it cannot recover announces the gap so.
	GapResyncs bool
}

// Check judges traces against the reference order: the events of ref,
// an observer in every room that never disconnected. pubs says what was
// published, by token. ref itself is checked for the rules that do not
// need an order (ids, duplicates, its start position, completeness).
func Check(pubs map[string]Pub, ref Trace, traces []Trace, opt Options) *Result {
	res := &Result{}
	check(res, pubs, ref, traces, opt)
	return res
}

func check(res *Result, pubs map[string]Pub, ref Trace, traces []Trace, opt Options) {
	c := &checker{pubs: pubs, opt: opt, res: res, ref: buildReference(pubs, &ref)}
	c.walk(&ref, true)
	var missed []string
	for tok, p := range pubs {
		if _, ok := c.ref.index[tok]; p.OK && !ok {
			missed = append(missed, tok)
		}
	}
	if len(missed) > 0 {
		slices.Sort(missed)
		res.add(KindReferenceMiss, ref.Name, "%d events published without error never reached it: %s",
			len(missed), strings.Join(missed[:min(len(missed), 8)], " "))
	}
	for i := range traces {
		c.walk(&traces[i], false)
	}
}

type refEvent struct {
	token, id string
	pub       Pub
}

// reference is the one order, as the reference observer received it.
type reference struct {
	events []refEvent
	index  map[string]int // by token
	byID   map[string]int // by id, the first event with it
	gen    []genPos       // the events with generated ids
}

type genPos struct {
	k   key
	idx int
}

func buildReference(pubs map[string]Pub, tr *Trace) *reference {
	r := &reference{index: map[string]int{}, byID: map[string]int{}}
	for _, conn := range tr.Conns {
		for _, rec := range conn.Recs {
			p, known := pubs[rec.Token]
			if _, dup := r.index[rec.Token]; rec.Kind != RecEvent || !known || dup {
				continue
			}
			i := len(r.events)
			r.events = append(r.events, refEvent{rec.Token, rec.ID, p})
			r.index[rec.Token] = i
			if _, ok := r.byID[rec.ID]; !ok && rec.ID != "" {
				r.byID[rec.ID] = i
			}
			if k, ok, _ := parseKey(rec.ID); ok && p.CallerID == "" {
				r.gen = append(r.gen, genPos{k, i})
			}
		}
	}
	return r
}

// bound is where an id falls in the reference: after the first lo
// events, or up to hi when caller-id events follow a generated position
// and could lie on either side of it.
type bound struct {
	lo, hi int
	ok     bool
}

func (r *reference) bound(id string) bound {
	if id == "" {
		return bound{}
	}
	if i, ok := r.byID[id]; ok {
		return bound{i + 1, i + 1, true}
	}
	k, ok, _ := parseKey(id)
	if !ok {
		return bound{}
	}
	lo := 0
	for _, g := range r.gen {
		if !k.less(g.k) && g.idx+1 > lo {
			lo = g.idx + 1
		}
	}
	hi := lo
	for hi < len(r.events) && r.events[hi].pub.CallerID != "" {
		hi++
	}
	return bound{lo, hi, true}
}

func (r *reference) describe(i int) string {
	if i < 0 || i >= len(r.events) {
		return "-"
	}
	e := r.events[i]
	return fmt.Sprintf("%s(%s,id %s)", e.token, e.pub.Room, e.id)
}

type checker struct {
	pubs map[string]Pub
	opt  Options
	res  *Result
	ref  *reference
}

func resyncData(lastID string) string {
	p, _ := json.Marshal(map[string]string{"lastEventId": lastID})
	return string(p)
}

func sameJSON(a, b string) bool {
	var x, y map[string]any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}
