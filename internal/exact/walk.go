package exact

import (
	"fmt"
	"slices"
	"strings"
)

// walker checks one trace, connection by connection.
type walker struct {
	*checker
	tr     *Trace
	name   string
	isRef  bool
	seen   map[string]int // token: the connection it came on
	last   int            // the highest reference index received, -1 if none
	key    key            // the last generated id received
	keyID  string         // and that id
	hasKey bool
	lastID string
	seg    *segment
	badIDs int    // generated ids not in decimal form
	badEx  string // the first of them
}

// segment is a stretch of a lineage from a start position (a new stream's
// or a resync's) to the next one: its events must be exactly the
// reference's events of the lineage's rooms in that range.
type segment struct {
	start bound
	why   string
	recv  []int // reference indexes, as received
}

func (c *checker) walk(tr *Trace, isRef bool) {
	name := tr.Name
	if tr.Rooms != nil {
		name += " " + fmt.Sprint(tr.Rooms)
	}
	w := &walker{checker: c, tr: tr, name: name, isRef: isRef, seen: map[string]int{}, last: -1}
	for ci := range tr.Conns {
		w.conn(ci)
	}
	if w.badIDs > 0 {
		c.res.add(KindIDForm, name, "%d generated ids are not decimal integers, such as %q", w.badIDs, w.badEx)
	}
	if isRef {
		return
	}
	w.close(c.ref.bound(w.lastID))
	need := -1
	for i, e := range c.ref.events {
		if tr.in(e.pub.Room) {
			need = i
		}
	}
	if b := c.ref.bound(w.lastID); need >= 0 && (!b.ok || b.hi < need+1) {
		c.res.add(KindNotDrained, name, "ended at last event id %q (reference position %d); the reference's last event of its rooms is #%d %s",
			w.lastID, b.lo, need, c.ref.describe(need))
	}
}

func (w *walker) conn(ci int) {
	conn := &w.tr.Conns[ci]
	if conn.Status != 200 {
		return
	}
	w.lastID = conn.LastID
	fresh := conn.LastID == ""
	where := func(ri int) string {
		via := "Last-Event-ID"
		if conn.ByQuery {
			via = "lastEventId"
		}
		if fresh {
			return fmt.Sprintf("conn %d (node %d, new) rec %d", ci, conn.Node, ri)
		}
		return fmt.Sprintf("conn %d (node %d, %s %q) rec %d", ci, conn.Node, via, conn.LastID, ri)
	}
	if fresh {
		w.close(bound{})
		seg := &segment{why: where(0) + ": new stream without a position"}
		if len(conn.Recs) > 0 && conn.Recs[0].Kind == RecPosition {
			seg.start = w.ref.bound(conn.Recs[0].ID)
			seg.why = fmt.Sprintf("%s: new stream at position %q", where(0), conn.Recs[0].ID)
			if !seg.start.ok && !w.isRef {
				w.res.add(KindBadPosition, w.name, "%s: start position %q is not in the reference order", where(0), conn.Recs[0].ID)
			}
		} else if len(conn.Recs) > 0 {
			w.res.add(KindNoPosition, w.name, "%s: a new stream began with %s, not with a block holding its position (id: P)",
				where(0), w.show(conn.Recs[0]))
		}
		w.seg = seg
	}
	events := 0 // things dispatched on this connection before the current one
	for ri, rec := range conn.Recs {
		switch rec.Kind {
		case RecPosition:
			if !(fresh && ri == 0) && !w.isRef {
				if b := w.ref.bound(rec.ID); b.ok && b.hi < w.last+1 {
					w.res.add(KindBackwards, w.name, "%s: position %q is before %s, already received", where(ri), rec.ID, w.ref.describe(w.last))
				}
			}
		case RecResync:
			w.resync(conn, rec, ri, events, where(ri))
			events++
		case RecOther:
			w.res.add(KindOtherEvent, w.name, "%s: an event of type %q", where(ri), rec.Data)
			events++
		case RecEvent:
			w.event(ci, rec, where(ri))
			events++
		}
		w.lastID = rec.ID
	}
	w.lastID = conn.End
}

func (w *walker) resync(conn *Conn, rec Rec, ri, before int, where string) {
	asked := conn.LastID != "" && sameJSON(rec.Data, resyncData(conn.LastID))
	switch {
	case before > 0 && (asked || !w.opt.GapResyncs):
		var prior []string
		for _, r := range conn.Recs[:ri] {
			if r.Kind != RecPosition && len(prior) < 4 {
				prior = append(prior, w.show(r))
			}
		}
		w.res.add(KindResyncLate, w.name, "%s: resync %s came after %d other events on its stream: %s",
			where, rec.Data, before, strings.Join(prior, " "))
	case before == 0 && conn.LastID == "" && !w.opt.GapResyncs:
		w.res.add(KindResyncUnasked, w.name, "%s: resync %s on a new stream", where, rec.Data)
	case before > 0:
		// A backplane's gap: allowed mid-stream.
	case conn.LastID != "" && !asked:
		w.res.add(KindResyncData, w.name, "%s: resync data %s does not name the Last-Event-ID %q", where, rec.Data, conn.LastID)
	}
	for _, r := range conn.Recs[:ri] {
		if before == 0 && r.Kind == RecPosition && r.ID != rec.ID {
			w.res.add(KindResyncLate, w.name, "%s: position %q came before the resync at %q", where, r.ID, rec.ID)
			break
		}
	}
	if w.isRef {
		return
	}
	w.close(w.ref.bound(w.lastID))
	seg := &segment{why: fmt.Sprintf("%s: resync at %q", where, rec.ID)}
	if !rec.HasID {
		w.res.add(KindResyncNoID, w.name, "%s: resync %s has no id field (its position)", where, rec.Data)
		seg.why = where + ": resync without a position"
	} else if seg.start = w.ref.bound(rec.ID); !seg.start.ok {
		w.res.add(KindBadPosition, w.name, "%s: resync id %q is not in the reference order", where, rec.ID)
	}
	w.seg = seg
}

func (w *walker) event(ci int, rec Rec, where string) {
	p, ok := w.pubs[rec.Token]
	if !ok {
		w.res.add(KindUnknownEvent, w.name, "%s: data %q", where, rec.Token)
		return
	}
	if !w.tr.in(p.Room) {
		w.res.add(KindForeign, w.name, "%s: %s of room %s", where, rec.Token, p.Room)
	}
	switch {
	case p.CallerID != "":
		if !rec.HasID || rec.ID != p.CallerID {
			w.res.add(KindCallerID, w.name, "%s: %s was published with id %q, came with %q", where, rec.Token, p.CallerID, rec.ID)
		}
	case !rec.HasID:
		w.res.add(KindNoID, w.name, "%s: %s has no id field", where, rec.Token)
	default:
		k, ok, decimal := parseKey(rec.ID)
		if !decimal {
			if w.badIDs++; w.badIDs == 1 {
				w.badEx = rec.ID
			}
		}
		if ok {
			if w.hasKey && !w.key.less(k) {
				w.res.add(KindIDsDecrease, w.name, "%s: %s has id %s after id %s", where, rec.Token, rec.ID, w.keyID)
			}
			w.key, w.keyID, w.hasKey = k, rec.ID, true
		}
	}
	if first, dup := w.seen[rec.Token]; dup {
		w.res.add(KindDuplicate, w.name, "%s: %s, received already on conn %d", where, w.token(rec.Token), first)
		return
	}
	w.seen[rec.Token] = ci
	if w.isRef {
		return
	}
	i, ok := w.ref.index[rec.Token]
	if !ok {
		w.res.add(KindReferenceMiss, w.name, "%s: %s is not in the reference order", where, rec.Token)
		return
	}
	if i < w.last {
		w.res.add(KindReorder, w.name, "%s: #%d %s after #%d %s", where, i, w.ref.describe(i), w.last, w.ref.describe(w.last))
	}
	w.last = max(w.last, i)
	if w.seg != nil {
		w.seg.recv = append(w.seg.recv, i)
	}
}

func (w *walker) token(tok string) string {
	if i, ok := w.ref.index[tok]; ok {
		return fmt.Sprintf("#%d %s", i, w.ref.describe(i))
	}
	return tok
}

func (w *walker) show(r Rec) string {
	switch r.Kind {
	case RecEvent:
		return w.token(r.Token)
	case RecResync:
		return "resync" + r.Data
	case RecPosition:
		return fmt.Sprintf("position %q", r.ID)
	}
	return "event " + r.Data
}

// close checks the open segment, which ends at end.
func (w *walker) close(end bound) {
	seg := w.seg
	w.seg = nil
	if seg == nil || w.isRef {
		return
	}
	recv := seg.recv
	var s, e int
	switch {
	case seg.start.ok:
		s = seg.start.hi
		if len(recv) > 0 && recv[0] >= seg.start.lo && recv[0] < seg.start.hi {
			s = recv[0]
		}
	case len(recv) == 0:
		return
	default:
		s = recv[0] // no position: judge from the first event received
	}
	switch {
	case end.ok:
		e = end.lo
		if n := len(recv); n > 0 && recv[n-1] >= end.lo && recv[n-1] < end.hi {
			e = recv[n-1] + 1
		}
	case len(recv) > 0:
		e = slices.Max(recv) + 1
	default:
		e = s
	}
	var want []int
	for i := s; i < e; i++ {
		if w.tr.in(w.ref.events[i].pub.Room) {
			want = append(want, i)
		}
	}
	if slices.Equal(want, recv) {
		return
	}
	wantSet, gotSet := map[int]bool{}, map[int]bool{}
	for _, i := range want {
		wantSet[i] = true
	}
	missing, extra := 0, 0
	for _, i := range recv {
		gotSet[i] = true
		if !wantSet[i] {
			extra++
		}
	}
	for _, i := range want {
		if !gotSet[i] {
			missing++
		}
	}
	kind := KindMismatch
	switch {
	case missing == 0 && extra == 0:
		return // the same events in another order: reported as reorders
	case extra == 0:
		kind = KindGap
	case missing == 0:
		kind = KindExtra
	}
	d := 0
	for d < len(want) && d < len(recv) && want[d] == recv[d] {
		d++
	}
	w.res.add(kind, w.name, "segment from %s, reference #%d to #%d: %d missing, %d extra; first divergence at its event %d:\n    expected %s\n    got      %s",
		seg.why, s, e-1, missing, extra, d, w.around(want, d), w.around(recv, d))
}

func (w *walker) around(xs []int, d int) string {
	lo, hi := max(0, d-2), min(len(xs), d+3)
	var parts []string
	if lo > 0 {
		parts = append(parts, "...")
	}
	for i := lo; i < hi; i++ {
		s := fmt.Sprintf("#%d %s", xs[i], w.ref.describe(xs[i]))
		if i == d {
			s = ">" + s + "<"
		}
		parts = append(parts, s)
	}
	if d >= len(xs) {
		parts = append(parts, "><end")
	}
	if hi < len(xs) {
		parts = append(parts, fmt.Sprintf("... (%d in all)", len(xs)))
	}
	return strings.Join(parts, " ")
}
