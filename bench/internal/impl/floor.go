package impl

import (
	"context"
	"net/http"
	"sync"
)

func init() { register("floor", newFloor) }

// floor is the least a net/http broadcaster can do: one handler goroutine
// per connection, each event encoded once and shared, a bounded channel
// per client that the publisher never waits on (a full one disconnects
// the client), and one flush per batch of queued events. It has no event
// names, IDs, heartbeats, limits or multi-line data: it is the yardstick,
// not a library.
type floor struct {
	queue int

	mu    sync.RWMutex // guards rooms; taken before a floorRoom's mu
	rooms map[string]*floorRoom
}

type floorRoom struct {
	mu   sync.RWMutex
	subs []*floorSub
}

type floorSub struct {
	ch   chan []byte
	kick chan struct{} // closed once when ch was found full
	once sync.Once
	idx  int // index in floorRoom.subs, guarded by its mu
}

func newFloor(o Options) (Impl, error) {
	q := o.QueueEvents
	if q <= 0 {
		q = 64
	}
	return &floor{queue: q, rooms: map[string]*floorRoom{}}, nil
}

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	s := &floorSub{ch: make(chan []byte, f.queue), kick: make(chan struct{})}
	f.join(room, s)
	defer f.leave(room, s)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	done := r.Context().Done()
	for {
		select {
		case p := <-s.ch:
			if !writeBatch(w, rc, s.ch, p) {
				return
			}
		case <-s.kick:
			return
		case <-done:
			return
		}
	}
}

// writeBatch writes p and whatever else is queued, then flushes once.
func writeBatch(w http.ResponseWriter, rc *http.ResponseController, ch <-chan []byte, p []byte) bool {
	for {
		if _, err := w.Write(p); err != nil {
			return false
		}
		select {
		case p = <-ch:
		default:
			return rc.Flush() == nil
		}
	}
}

func (f *floor) join(room string, s *floorSub) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rm := f.rooms[room]
	if rm == nil {
		rm = &floorRoom{}
		f.rooms[room] = rm
	}
	rm.mu.Lock()
	s.idx = len(rm.subs)
	rm.subs = append(rm.subs, s)
	rm.mu.Unlock()
}

func (f *floor) leave(room string, s *floorSub) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rm := f.rooms[room]
	rm.mu.Lock()
	last := rm.subs[len(rm.subs)-1]
	rm.subs[s.idx], last.idx = last, s.idx
	rm.subs[len(rm.subs)-1] = nil
	rm.subs = rm.subs[:len(rm.subs)-1]
	empty := len(rm.subs) == 0
	rm.mu.Unlock()
	if empty {
		delete(f.rooms, room)
	}
}

func (f *floor) Publish(_ context.Context, room string, data []byte) error {
	f.mu.RLock()
	rm := f.rooms[room]
	f.mu.RUnlock()
	if rm == nil {
		return nil
	}
	p := make([]byte, 0, len("data: ")+len(data)+2)
	p = append(p, "data: "...)
	p = append(p, data...)
	p = append(p, "\n\n"...)
	rm.mu.RLock()
	for _, s := range rm.subs {
		select {
		case s.ch <- p:
		default:
			s.once.Do(func() { close(s.kick) })
		}
	}
	rm.mu.RUnlock()
	return nil
}

// Shutdown ends every stream by kicking its client.
func (f *floor) Shutdown(context.Context) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, rm := range f.rooms {
		rm.mu.RLock()
		for _, s := range rm.subs {
			s.once.Do(func() { close(s.kick) })
		}
		rm.mu.RUnlock()
	}
	return nil
}
