package impl

import (
	"context"
	"net/http"
	"sync"
)

func init() { register("floor-park", newFloorPark) }

// floorPark is the least a stream can cost while net/http keeps its
// connection, as a yardstick for memory per connection: the handler sends
// the head and parks in a one-select frame until its room's next publish,
// keeping nothing on the heap of its own but its place in the room's log.
// Each event is encoded once into a ring shared by the room; a subscriber
// that falls a whole ring behind is disconnected. Like [floor] it has no
// event names, IDs, heartbeats or write deadlines.
//
// Whatever a library keeps per stream (a client, a queue, its rooms) comes
// on top of this: net/http's buffers, request, contexts and two goroutines.
type floorPark struct {
	size int

	mu      sync.Mutex
	rooms   map[string]*parkRoom
	stopped bool
}

// parkRoom is one room's log: the last len(ring) events, and a channel
// that the next publish, or Shutdown, closes.
type parkRoom struct {
	mu      sync.RWMutex
	ring    [][]byte
	total   int // events ever published; event i is at ring[i%len(ring)]
	next    chan struct{}
	stopped bool
}

func newFloorPark(o Options) (Impl, error) {
	return &floorPark{size: o.queue(), rooms: map[string]*parkRoom{}}, nil
}

func (f *floorPark) room(name string) *parkRoom {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rooms[name]
	if r == nil {
		r = &parkRoom{ring: make([][]byte, f.size), next: make(chan struct{}), stopped: f.stopped}
		f.rooms[name] = r
	}
	return r
}

func (f *floorPark) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	room := f.room(r.PathValue("room"))
	rc := http.NewResponseController(w)
	room.mu.RLock()
	pos, next, stopped := room.total, (<-chan struct{})(room.next), room.stopped
	room.mu.RUnlock()
	if stopped || !startStream(w, rc) {
		return
	}
	done := r.Context().Done()
	for {
		if !parkUntil(next, done) {
			return
		}
		var ok bool
		if pos, next, ok = room.writeFrom(w, pos); !ok || rc.Flush() != nil {
			return
		}
	}
}

// parkUntil waits for next to close, reporting false if done closes
// first. It is a frame of its own, and a small one, so that the GC can
// shrink a parked handler's stack after a write has grown it; and it
// waits on two channels only, as each costs a parked goroutine a sudog.
//
//go:noinline
func parkUntil(next, done <-chan struct{}) bool {
	select {
	case <-next:
		return true
	case <-done:
		return false
	}
}

// writeFrom writes the events from pos on, a batch at a time so that no
// lock is held while writing, and returns the next position and the
// channel to wait on after it. It reports false if w failed, the
// subscriber is a whole ring behind, or the room is stopped.
func (r *parkRoom) writeFrom(w http.ResponseWriter, pos int) (int, <-chan struct{}, bool) {
	var batch [64][]byte
	for {
		r.mu.RLock()
		total, next := r.total, r.next
		if r.stopped || pos < total-len(r.ring) {
			r.mu.RUnlock()
			return pos, nil, false
		}
		n := copy(batch[:], r.ringFrom(pos, total))
		r.mu.RUnlock()
		if n == 0 {
			return pos, next, true
		}
		for i, p := range batch[:n] {
			if _, err := w.Write(p); err != nil {
				return pos, nil, false
			}
			batch[i] = nil
		}
		pos += n
	}
}

// ringFrom returns the kept events from pos up to total that lie in one
// stretch of the ring; the caller holds r.mu.
func (r *parkRoom) ringFrom(pos, total int) [][]byte {
	if pos >= total {
		return nil
	}
	start := pos % len(r.ring)
	end := start + (total - pos)
	return r.ring[start:min(end, len(r.ring))]
}

func (f *floorPark) Publish(_ context.Context, room string, data []byte) error {
	p := encodeLine(data)
	r := f.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil
	}
	r.ring[r.total%len(r.ring)] = p
	r.total++
	close(r.next)
	r.next = make(chan struct{})
	return nil
}

// Shutdown ends every stream: it wakes every room's handlers, which find
// the room stopped.
func (f *floorPark) Shutdown(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	for _, r := range f.rooms {
		r.mu.Lock()
		if !r.stopped {
			r.stopped = true
			close(r.next)
		}
		r.mu.Unlock()
	}
	return nil
}
