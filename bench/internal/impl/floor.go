package impl

import (
	"context"
	"net/http"
	"sync"
)

func init() { register("floor", newFloor) }

// floor is the least a net/http broadcaster can do, as a yardstick rather
// than a library: one handler goroutine per connection; each event
// encoded once and shared; a bounded queue per client that the publisher
// appends to without waiting (a full one disconnects the client); and a
// writer that takes the whole queue on each wake-up, writes it and
// flushes once. No event names, IDs, heartbeats, write deadlines or
// multi-line data.
//
// The queue is a slice under a mutex with a one-slot wake channel, not a
// channel of events (see [floorChan] for why): the writer is woken only
// when its queue goes from empty to not, and an idle client holds no
// queue memory.
type floor struct {
	max int
	set members[*floorClient]
}

type floorClient struct {
	wake chan struct{} // capacity 1: the queue went from empty to not
	kick chan struct{} // closed when the queue overflows or at Shutdown

	mu     sync.Mutex
	queue  [][]byte
	kicked bool
}

func newFloor(o Options) (Impl, error) {
	return &floor{max: o.queue()}, nil
}

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	c := &floorClient{wake: make(chan struct{}, 1), kick: make(chan struct{})}
	f.set.join(room, c)
	defer f.set.leave(room, c)
	rc := http.NewResponseController(w)
	if !startStream(w, rc) {
		return
	}
	done := r.Context().Done()
	var spare [][]byte
	for {
		select {
		case <-c.wake:
		case <-c.kick:
			return
		case <-done:
			return
		}
		c.mu.Lock()
		batch := c.queue
		c.queue = spare
		c.mu.Unlock()
		for _, p := range batch {
			if _, err := w.Write(p); err != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
		clear(batch)
		spare = batch[:0]
	}
}

// push queues p, or disconnects the client if its queue is full.
func (c *floorClient) push(p []byte, max int) {
	c.mu.Lock()
	if c.kicked {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= max {
		c.stopLocked()
		c.mu.Unlock()
		return
	}
	signal := len(c.queue) == 0
	c.queue = append(c.queue, p)
	c.mu.Unlock()
	if signal {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

func (c *floorClient) stop() {
	c.mu.Lock()
	c.stopLocked()
	c.mu.Unlock()
}

func (c *floorClient) stopLocked() {
	if !c.kicked {
		c.kicked = true
		close(c.kick)
	}
}

func (f *floor) Publish(_ context.Context, room string, data []byte) error {
	p := encodeLine(data)
	f.set.each(room, func(c *floorClient) { c.push(p, f.max) })
	return nil
}

// Shutdown ends every stream.
func (f *floor) Shutdown(context.Context) error {
	f.set.all((*floorClient).stop)
	return nil
}
