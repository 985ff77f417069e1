package signal

import (
	"context"
	"sync"
	"time"

	"github.com/roomcast/sse"
)

// keepAlive sends the heartbeat comment to this server's streams in place
// of the broker's heartbeat. The broker would beat any client it has
// registered, and it registers a client before the handler can queue its
// connect event; a beat in between would come before connect, where
// moshpit's client reads it as an event. A stream is beaten only once
// its connect event is queued, and first a whole period after that.
type keepAlive struct {
	b      *sse.Broker
	period time.Duration // > 0

	mu      sync.Mutex
	streams map[*sse.Client]bool // true: added since the last beat
}

func newKeepAlive(b *sse.Broker, period time.Duration) *keepAlive {
	return &keepAlive{b: b, period: period, streams: make(map[*sse.Client]bool)}
}

// heartbeat is the comment each beat sends: the broker's own.
var heartbeat = sse.Event{Comment: "heartbeat"}

// add starts beating c, whose connect event is queued. It is a no-op on a
// nil keepAlive (no heartbeat).
func (k *keepAlive) add(c *sse.Client) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.streams[c] = true
}

// remove stops beating c.
func (k *keepAlive) remove(c *sse.Client) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.streams, c)
}

// run beats every period until done is closed.
func (k *keepAlive) run(done <-chan struct{}) {
	t := time.NewTicker(k.period)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			k.beat()
		}
	}
}

// beat queues a heartbeat for every stream added before the previous
// beat. Sending never waits (it only queues), and it runs with no lock
// held.
func (k *keepAlive) beat() {
	k.mu.Lock()
	due := make([]*sse.Client, 0, len(k.streams))
	for c, fresh := range k.streams {
		if fresh {
			k.streams[c] = false
			continue
		}
		due = append(due, c)
	}
	k.mu.Unlock()
	for _, c := range due {
		_ = k.b.Send(context.Background(), c, heartbeat) // a gone client is removed by its handler
	}
}
