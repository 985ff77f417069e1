package impl

import (
	"context"
	"net/http"
	"sync"
)

func init() { register("floor-chan", newFloorChan) }

// floorChan is the floor as the issue first sketched it: like [floor],
// but each client's queue is a buffered Go channel of events. It is kept
// to show why the floor is not built that way: at 10 000 subscribers it
// writes about 4 events per write system call where the floor writes
// about 9, and spends over twice the CPU per delivery (bench/README.md).
// Its queue is also allocated whole up front, 24 bytes a slot: 24 KiB a
// client at the default length.
type floorChan struct {
	queue int
	set   members[*chanClient]
}

type chanClient struct {
	ch   chan []byte
	kick chan struct{} // closed once when ch was found full
	once sync.Once
}

func newFloorChan(o Options) (Impl, error) {
	return &floorChan{queue: o.queue()}, nil
}

func (f *floorChan) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	c := &chanClient{ch: make(chan []byte, f.queue), kick: make(chan struct{})}
	f.set.join(room, c)
	defer f.set.leave(room, c)
	rc := http.NewResponseController(w)
	if !startStream(w, rc) {
		return
	}
	done := r.Context().Done()
	for {
		select {
		case p := <-c.ch:
			if !writeChanBatch(w, rc, c.ch, p) {
				return
			}
		case <-c.kick:
			return
		case <-done:
			return
		}
	}
}

// writeChanBatch writes p and whatever else is queued, then flushes once.
func writeChanBatch(w http.ResponseWriter, rc *http.ResponseController, ch <-chan []byte, p []byte) bool {
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

func (c *chanClient) stop() { c.once.Do(func() { close(c.kick) }) }

func (f *floorChan) Publish(_ context.Context, room string, data []byte) error {
	p := encodeLine(data)
	f.set.each(room, func(c *chanClient) {
		select {
		case c.ch <- p:
		default:
			c.stop()
		}
	})
	return nil
}

// Shutdown ends every stream.
func (f *floorChan) Shutdown(context.Context) error {
	f.set.all((*chanClient).stop)
	return nil
}
