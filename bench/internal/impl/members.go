package impl

import (
	"net/http"
	"sync"
)

// members is the room bookkeeping the two floors share: which clients
// are in which room. Lock order: members.mu, then a memberRoom's mu.
type members[T comparable] struct {
	mu    sync.RWMutex
	rooms map[string]*memberRoom[T]
}

type memberRoom[T comparable] struct {
	mu    sync.RWMutex
	subs  []T
	index map[T]int
}

func (m *members[T]) join(room string, s T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms == nil {
		m.rooms = map[string]*memberRoom[T]{}
	}
	rm := m.rooms[room]
	if rm == nil {
		rm = &memberRoom[T]{index: map[T]int{}}
		m.rooms[room] = rm
	}
	rm.mu.Lock()
	rm.index[s] = len(rm.subs)
	rm.subs = append(rm.subs, s)
	rm.mu.Unlock()
}

func (m *members[T]) leave(room string, s T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rm := m.rooms[room]
	rm.mu.Lock()
	defer rm.mu.Unlock()
	i, last := rm.index[s], len(rm.subs)-1
	rm.subs[i] = rm.subs[last]
	rm.index[rm.subs[i]] = i
	var zero T
	rm.subs[last] = zero
	rm.subs = rm.subs[:last]
	delete(rm.index, s)
	if last == 0 {
		delete(m.rooms, room)
	}
}

// each calls f for every member of room, with the room read-locked: f
// must not block.
func (m *members[T]) each(room string, f func(T)) {
	m.mu.RLock()
	rm := m.rooms[room]
	m.mu.RUnlock()
	if rm == nil {
		return
	}
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	for _, s := range rm.subs {
		f(s)
	}
}

// all calls f for every member of every room.
func (m *members[T]) all(f func(T)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, rm := range m.rooms {
		rm.mu.RLock()
		for _, s := range rm.subs {
			f(s)
		}
		rm.mu.RUnlock()
	}
}

// encodeLine returns data as one SSE event: a single data line.
func encodeLine(data []byte) []byte {
	p := make([]byte, 0, len("data: ")+len(data)+2)
	p = append(p, "data: "...)
	p = append(p, data...)
	return append(p, "\n\n"...)
}

// startStream sends the event-stream response head and reports whether
// the client is still there.
func startStream(w http.ResponseWriter, rc *http.ResponseController) bool {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return rc.Flush() == nil
}
