package sse

import (
	"sync"
	"time"
	"unicode/utf8"
)

// room is a set of clients and, when history is on, the room's recent
// events. Its mu orders every publish to the room: the event is stored and
// handed to each member's queue under mu, so all members see the room's
// events in one order, and a joining client's replay and its first live
// event meet with no gap and no duplicate.
type room struct {
	name string

	mu      sync.Mutex
	members []*Client
	index   map[*Client]int
	hist    history
	dead    bool   // removed from Broker.rooms; publishers must look again
	created uint64 // the broker's position when the room was created
}

func newRoom(name string, h History, created uint64) *room {
	return &room{name: name, index: make(map[*Client]int), hist: history{size: h.Size, maxAge: h.MaxAge}, created: created}
}

// add and remove need r.mu.
func (r *room) add(c *Client) bool {
	if _, ok := r.index[c]; ok {
		return false
	}
	r.index[c] = len(r.members)
	r.members = append(r.members, c)
	return true
}

func (r *room) remove(c *Client) {
	i, ok := r.index[c]
	if !ok {
		return
	}
	last := len(r.members) - 1
	if i != last {
		moved := r.members[last]
		r.members[i] = moved
		r.index[moved] = i
	}
	r.members[last] = nil
	r.members = r.members[:last]
	delete(r.index, c)
}

// idle reports whether the room can be freed: no member and no history
// worth keeping. It needs r.mu.
func (r *room) idle(now time.Time) bool {
	if len(r.members) > 0 {
		return false
	}
	r.hist.trim(now)
	return len(r.hist.entries) == 0
}

// deliver hands q to every member. It needs r.mu.
func (r *room) deliver(q queued) {
	for _, c := range r.members {
		c.enqueue(q)
	}
}

func checkRoom(name string) error {
	if name == "" || name == "*" || len(name) > MaxRoomNameLen || !utf8.ValidString(name) {
		return ErrInvalidRoom
	}
	return nil
}

// History configures per-room replay for clients that reconnect with a
// Last-Event-ID. The zero value turns it off.
type History struct {
	// Size is the number of recent events kept per room (and for
	// [Broker.PublishAll]). Zero or negative: history and replay are off.
	Size int
	// MaxAge drops events older than this from history. Zero: events are
	// kept until Size pushes them out.
	MaxAge time.Duration
}

type histEntry struct {
	seq uint64
	id  string
	p   []byte
	at  time.Time
}

// history is one room's recent events, oldest first. evicted is the
// newest position that has been dropped, so a replay from before it is
// known to have a gap.
type history struct {
	size    int
	maxAge  time.Duration
	entries []histEntry
	evicted uint64
}

func (h *history) on() bool { return h.size > 0 }

func (h *history) add(e histEntry) {
	if len(h.entries) >= h.size {
		h.evict(1)
	}
	h.entries = append(h.entries, e)
	h.trim(e.at)
}

func (h *history) evict(n int) {
	h.evicted = h.entries[n-1].seq
	clear(h.entries[:n])
	h.entries = h.entries[n:]
	if len(h.entries) == 0 {
		h.entries = nil
	}
}

func (h *history) trim(now time.Time) {
	if h.maxAge <= 0 {
		return
	}
	n := 0
	for n < len(h.entries) && now.Sub(h.entries[n].at) > h.maxAge {
		n++
	}
	if n > 0 {
		h.evict(n)
	}
}

// find returns the position of the newest entry with this id, and how
// many entries have it.
func (h *history) find(id string) (seq uint64, n int) {
	for i := len(h.entries) - 1; i >= 0; i-- {
		if h.entries[i].id == id {
			if n == 0 {
				seq = h.entries[i].seq
			}
			n++
		}
	}
	return seq, n
}

// since returns the entries after position from; completeLocked tells
// whether some were evicted.
func (h *history) since(from uint64) []histEntry {
	i := len(h.entries)
	for i > 0 && h.entries[i-1].seq > from {
		i--
	}
	return h.entries[i:]
}
