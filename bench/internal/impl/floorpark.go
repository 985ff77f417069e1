package impl

import (
	"context"
	"net/http"
	"runtime"
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
// The head is sent on one of a few long-lived goroutines while the handler
// waits: net/http's first flush grows a stack from 4 to 8 KiB, and a
// parked handler cannot be shrunk back from there, as net/http's frames
// under it already take more than the quarter of 8 KiB that the GC
// requires; a handler that never grew stays at 4 KiB.
//
// Whatever a library keeps per stream (a client, a queue, its rooms) comes
// on top of this: net/http's buffers, request, contexts and two goroutines.
type floorPark struct {
	size  int
	heads chan func()   // run by the head senders
	quit  chan struct{} // closed by Shutdown; the head senders exit

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
	f := &floorPark{size: o.queue(), heads: make(chan func()), quit: make(chan struct{}), rooms: map[string]*parkRoom{}}
	for range runtime.GOMAXPROCS(0) {
		go f.sendHeads()
	}
	return f, nil
}

func (f *floorPark) sendHeads() {
	for {
		select {
		case job := <-f.heads:
			job()
		case <-f.quit:
			return
		}
	}
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
	// The head's result comes back by value through a channel, not in
	// variables the job writes to: those would live on the heap for as
	// long as the stream.
	reply := make(chan parkStart, 1)
	var st parkStart
	select {
	case f.heads <- func() { reply <- f.open(w, r) }:
		st = <-reply
	case <-f.quit:
		return
	}
	if !st.ok {
		return
	}
	room, pos, next := st.room, st.pos, st.next
	done := r.Context().Done()
	for parkUntil(next, done) {
		var ok bool
		if pos, next, ok = room.writeFrom(w, pos); !ok {
			return
		}
	}
}

// parkStart is what open returns: the stream's room, its place in the
// room's log and the channel to wait on; ok is false if the stream is
// over.
type parkStart struct {
	room *parkRoom
	pos  int
	next <-chan struct{}
	ok   bool
}

// open sends the head and returns where the stream starts.
func (f *floorPark) open(w http.ResponseWriter, r *http.Request) parkStart {
	room := f.room(r.PathValue("room"))
	room.mu.RLock()
	pos, next, stopped := room.total, room.next, room.stopped
	room.mu.RUnlock()
	if stopped || !startStream(w, http.NewResponseController(w)) {
		return parkStart{}
	}
	return parkStart{room: room, pos: pos, next: next, ok: true}
}

// parkUntil waits for next to close, reporting false if done closes
// first. It is a frame of its own (noinline), as is writeFrom, so that a
// parked handler's stack is net/http's frames and little more; and it
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

// writeFrom writes the events from pos on and flushes, a batch at a time
// so that no lock is held while writing, and returns the next position
// and the channel to wait on after it. It reports false if w failed, the
// subscriber is a whole ring behind, or the room is stopped.
//
//go:noinline
func (r *parkRoom) writeFrom(w http.ResponseWriter, pos int) (int, <-chan struct{}, bool) {
	var batch [8][]byte // small: the frame is on the handler's stack, which stays at 4 KiB
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
			return pos, next, http.NewResponseController(w).Flush() == nil
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
	if !f.stopped {
		close(f.quit)
	}
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
