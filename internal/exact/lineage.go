package exact

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// lineage is a logical subscriber: a fixed set of rooms, connecting,
// being cut, staying away and resuming with its last event id as
// EventSource does, possibly on another node. An observer is a lineage
// in every room with one connection that is never cut.
type lineage struct {
	r      *runner
	name   string
	rooms  []string
	rng    *rand.Rand
	node   int     // an observer's node
	trace  Trace   // written by the lineage's goroutine (an observer's: at the end)
	stream *stream // an observer's one connection

	reached   chan struct{} // closed once it got to the fence
	reachOnce sync.Once
	fenceSeen atomic.Pointer[string] // the fence's id, once received
	onFence   func(id string)        // the reference's: called by the reader with the fence's id
}

func newLineage(r *runner, name string, rooms []string, rng *rand.Rand) *lineage {
	return &lineage{r: r, name: name, rooms: rooms, rng: rng, reached: make(chan struct{}),
		trace: Trace{Name: name, Rooms: rooms}}
}

func (l *lineage) reach() { l.reachOnce.Do(func() { close(l.reached) }) }

func (l *lineage) isReached() bool {
	select {
	case <-l.reached:
		return true
	default:
		return false
	}
}

func (l *lineage) seenFence() (string, bool) {
	if p := l.fenceSeen.Load(); p != nil {
		return *p, true
	}
	return "", false
}

// onRec is called by a stream's reader with each record: it notices the
// fence, or a position at or past it.
func (l *lineage) onRec(rec Rec) {
	switch rec.Kind {
	case RecEvent:
		if rec.Token != fenceToken {
			return
		}
		if l.fenceSeen.CompareAndSwap(nil, &rec.ID) && l.onFence != nil {
			l.onFence(rec.ID)
		}
		l.reach()
	case RecPosition, RecResync:
		if fk := l.r.fence.Load(); fk != nil {
			if k, ok, _ := parseKey(rec.ID); ok && !k.less(*fk) {
				l.reach()
			}
		}
	}
}

// run connects, reads, is cut and resumes until it has reached the fence
// after publishing, or ctx ends.
func (l *lineage) run(ctx context.Context) {
	rooms := l.rooms
	lastID := ""
	for ctx.Err() == nil && !l.isReached() {
		node := l.rng.IntN(len(l.r.cfg.Nodes))
		byQuery := lastID != "" && l.rng.IntN(4) == 0
		s := open(ctx, l.r.client, node, l.r.cfg.Nodes[node].URL, rooms, lastID, byQuery, l.onRec)
		l.hold(ctx, s)
		s.stop()
		l.trace.Conns = append(l.trace.Conns, s.conn)
		lastID = s.conn.End
		if l.isReached() {
			return
		}
		l.away(ctx, s.conn.Status == 0)
	}
}

// hold keeps s open until it is cut at a random moment, ends, or, once
// publishing is over, until the lineage has caught up.
func (l *lineage) hold(ctx context.Context, s *stream) {
	life := time.NewTimer(time.Duration(l.rng.Int64N(int64(l.r.cfg.Lifetime)) + 1))
	defer life.Stop()
	select {
	case <-life.C:
		return
	case <-s.done:
		return
	case <-ctx.Done():
		return
	case <-l.r.drain:
	}
	select {
	case <-l.reached:
	case <-s.done:
	case <-ctx.Done():
	}
}

// away waits before the lineage reconnects: mostly briefly, sometimes
// longer than History.MaxAge, so that what it missed may be evicted.
// The wait ends early when publishing is over.
func (l *lineage) away(ctx context.Context, failed bool) {
	d := time.Duration(l.rng.Int64N(int64(20 * time.Millisecond)))
	if maxAge := l.r.cfg.MaxAge; !failed && maxAge > 0 && l.rng.IntN(7) == 0 {
		d = maxAge + 20*time.Millisecond + time.Duration(l.rng.Int64N(int64(maxAge)))
	}
	t := time.NewTimer(d) // paces the workload; synchronises nothing
	defer t.Stop()
	select {
	case <-t.C:
	case <-l.r.drain:
	case <-ctx.Done():
	}
}
