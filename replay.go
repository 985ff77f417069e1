package sse

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// ResyncEvent is the name of the event sent to a client that reconnects
// with a Last-Event-ID the broker can no longer replay from (unknown, or
// older than the history kept), and to clients whose node lost events it
// cannot recover. Its data is {"lastEventId": "<the id>"} (empty for a
// node's loss) and its id is the client's new position: everything after
// the resync event reaches the client exactly, as after any other event.
// It is always the first event such a client gets. The client should
// fetch a fresh state; [Config.OnReplayMiss] tells the application at the
// same moment.
const ResyncEvent = "resync"

// resync encodes the ResyncEvent for a client whose Last-Event-ID cannot
// be replayed from; pos, when known, becomes its id.
func resync(lastID string, pos uint64) queued {
	data, _ := json.Marshal(map[string]string{"lastEventId": lastID})
	ev := Event{Name: ResyncEvent, Data: json.RawMessage(data)}
	if pos != 0 {
		ev.ID = formatPosition(pos)
	}
	p, _ := ev.MarshalText()
	return queued{p: p, event: true}
}

// replayLocked queues for c what it missed in rs since its Last-Event-ID,
// or a resync event when that cannot be told exactly, and reports the
// miss. pos is the current position; it needs b.order.mu, b.mu and every
// room of rs locked.
func (b *Broker) replayLocked(c *Client, rs []*room, pos uint64) (miss bool) {
	c.floor = pos
	from, ok := b.locate(rs, c.lastEventID, pos)
	if ok {
		ok = b.completeLocked(rs, from, time.Now())
	}
	if !ok {
		c.queueReplay([]queued{resync(c.lastEventID, pos)})
		return true
	}
	var es []histEntry
	for _, r := range rs {
		es = append(es, r.hist.since(from)...)
	}
	if len(rs) > 1 {
		slices.SortFunc(es, func(a, b histEntry) int { return cmpUint(a.seq, b.seq) })
	}
	replay := make([]queued, len(es))
	for i, e := range es {
		replay[i] = queued{p: e.p, event: true, id: e.id, seq: e.seq}
	}
	b.stats.replayed.Add(uint64(len(replay)))
	c.queueReplay(replay)
	return false
}

// locate returns the position of a Last-Event-ID: the kept event with
// that id, or a position this broker handed out (the id of a generated
// event, of a stream's opening block or of a resync event). A caller's id
// kept more than once is ambiguous, since the client may have seen
// either: no position.
func (b *Broker) locate(rs []*room, id string, pos uint64) (uint64, bool) {
	var from uint64
	found := 0
	for _, r := range rs {
		s, n := r.hist.find(id)
		from, found = max(from, s), found+n
	}
	switch {
	case found == 1:
		return from, true
	case found > 1:
		return 0, false
	}
	if p, ok := parsePosition(id); ok && p >= b.order.first && p <= pos {
		return p, true
	}
	return 0, false
}

// completeLocked reports whether every event of rs after from is still
// kept: none was evicted by History.Size or MaxAge, and no earlier room
// of the same name that held some was freed since.
func (b *Broker) completeLocked(rs []*room, from uint64, now time.Time) bool {
	for _, r := range rs {
		r.hist.trim(now)
		if r.hist.evicted > from {
			return false
		}
		if r.created > from && (b.freedAt[r.name] > from || b.freedForgot > from) {
			// r is newer than from, and an earlier room of that name
			// held events after from (or may have: it is forgotten):
			// they aged out and it was freed.
			return false
		}
	}
	return true
}

// replayRemote fetches c's replay from the backplane and queues it ahead
// of the live events held meanwhile. It reports a miss, for which a
// resync event is queued first.
func (b *Broker) replayRemote(c *Client, rooms []string) (miss bool) {
	names := append([]string{"*"}, rooms...)
	timeout := b.limits.WriteTimeout
	if timeout <= 0 {
		timeout = DefaultWriteTimeout
	}
	ctx, cancel := context.WithTimeout(c.Context(), timeout)
	defer cancel()
	msgs, from, err := b.bp.Replay(ctx, names, c.lastEventID)
	if err != nil {
		if !errors.Is(err, ErrReplayMiss) {
			b.log.Warn("sse: backplane replay failed", "error", err)
			b.hookError(c, err)
			from = 0
		}
		// The client resumes at the later of this node's position and its
		// own, when known: on a node that lags, the events in between are
		// ones it has.
		pos := max(c.floor, from)
		c.release(nil, pos, resync(c.lastEventID, pos))
		return true
	}
	replay := make([]queued, len(msgs))
	for i := range msgs {
		replay[i] = msgs[i].queued()
	}
	b.stats.replayed.Add(uint64(len(replay)))
	c.release(replay, from, queued{})
	return false
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
