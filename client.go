package sse

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DisconnectReason says why a client's stream ended.
type DisconnectReason int

const (
	// ReasonClientGone: the client closed the connection or a write
	// failed.
	ReasonClientGone DisconnectReason = iota + 1
	// ReasonSlow: the client's queue overflowed Limits.QueueEvents or
	// Limits.QueueBytes; what was queued is dropped.
	ReasonSlow
	// ReasonTimeout: one write took longer than Limits.WriteTimeout.
	ReasonTimeout
	// ReasonRemoved: [Broker.Remove] ended the stream.
	ReasonRemoved
	// ReasonShutdown: [Broker.Shutdown] ended the stream.
	ReasonShutdown
)

func (r DisconnectReason) String() string {
	switch r {
	case ReasonClientGone:
		return "client gone"
	case ReasonSlow:
		return "slow"
	case ReasonTimeout:
		return "write timeout"
	case ReasonRemoved:
		return "removed"
	case ReasonShutdown:
		return "shutdown"
	}
	return "unknown"
}

// Client is one connected event stream. It is created by [Broker.Add] and
// its methods are safe for concurrent use. A Client must not be copied.
type Client struct {
	id          string
	b           *Broker
	w           http.ResponseWriter
	rc          *http.ResponseController
	req         *http.Request
	lastEventID string

	wake  chan struct{} // capacity 1: something was queued, or the stream is to end
	done  chan struct{} // made by Done; closed once, when the stream is to end
	wrote atomic.Bool   // an event was written since the last heartbeat tick

	mu     sync.Mutex
	queue  []queued
	spare  []queued
	qbytes int
	// extra and extraBytes exempt a reconnecting client's replay from the
	// queue limits until the writer has taken it.
	extra, extraBytes int
	closed            bool
	reason            DisconnectReason
	rooms             []string // sorted; a slice, as most clients are in one room
	// While holding, live events wait in held until the replay fetched
	// from a Backplane is queued before them.
	holding bool
	held    []queued
	// floor is the newest position queued for the client (or covered by
	// its replay): a kept event at or before it is a copy the client has,
	// as a Backplane on a lagging link may deliver after a replay.
	floor uint64
	// start is the position sent in the opening block of a new client.
	start uint64
	// bodyDone is closed when drainBody's goroutine returns; nil when
	// the request has no body to drain.
	bodyDone chan struct{}

	// wmu guards serving, which is true while Serve may be writing, so
	// that a slow client's blocked write can be cut short from another
	// goroutine but never after the handler has returned.
	wmu     sync.Mutex
	serving bool

	deadline time.Time // the write deadline last set; the writer's alone

	// taken is set by Add when it has taken the connection over
	// (Config.Dense), and w and rc are nil from then on; tk is set to it
	// once Add hands the stream on (handOn).
	taken atomic.Pointer[takeover]
	tk    atomic.Pointer[takeover]

	// served moves once from unserved to serving (Serve was called) or
	// to abandoned (the handler ended first); see watch. unserved is
	// closed by Serve to stop the watch.
	served   atomic.Int32
	unserved chan struct{}
}

type queued struct {
	p     []byte
	event bool   // counts as a delivered event (not a heartbeat or control line)
	id    string // the event's id
	seq   uint64 // a kept event's position, else 0
}

// ID returns the client's unique id (an xid).
func (c *Client) ID() string { return c.id }

// Request returns the request that opened the stream. Do not read its body.
func (c *Client) Request() *http.Request { return c.req }

// Context returns a context that is done when the client goes: the
// request's, or, for a stream the broker has taken over (Config.Dense),
// one done when the stream ends, with the request's values.
func (c *Client) Context() context.Context {
	if c.taken.Load() != nil {
		return streamContext{context.WithoutCancel(c.req.Context()), c}
	}
	return c.req.Context()
}

// LastEventID returns the Last-Event-ID the client connected with (the
// header, or the lastEventId query parameter used by polyfills), or "".
func (c *Client) LastEventID() string { return c.lastEventID }

// Done returns a channel closed when the stream is ending.
func (c *Client) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.closed {
			return closedChan
		}
		// Made on first use: most streams never need it.
		c.done = make(chan struct{})
	}
	return c.done
}

var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Queued returns the number of events and bytes waiting to be written to
// the client.
func (c *Client) Queued() (events, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue), c.qbytes
}

// Join adds the client to room. Joining a room the client is in already
// does nothing. It returns [ErrInvalidRoom], [ErrClientGone], [ErrClosed]
// or a [*LimitError] for Limits.MaxRoomsPerClient.
func (c *Client) Join(room string) error { return c.b.join(c, room) }

// Leave removes the client from room; leaving a room it is not in does
// nothing. An empty room without history is freed.
func (c *Client) Leave(room string) { c.b.leave(c, room) }

// In reports whether the client is in room. Every client is in "*".
func (c *Client) In(room string) bool {
	if room == "*" {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inLocked(room)
}

// Rooms returns the client's rooms, sorted.
func (c *Client) Rooms() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rooms) == 0 {
		return nil
	}
	return slices.Clone(c.rooms)
}

// inLocked, joinLocked and leaveLocked need c.mu.
func (c *Client) inLocked(room string) bool {
	_, ok := slices.BinarySearch(c.rooms, room)
	return ok
}

func (c *Client) joinLocked(room string) {
	if i, ok := slices.BinarySearch(c.rooms, room); !ok {
		c.rooms = slices.Insert(c.rooms, i, room)
	}
}

func (c *Client) leaveLocked(room string) {
	if i, ok := slices.BinarySearch(c.rooms, room); ok {
		c.rooms = slices.Delete(c.rooms, i, i+1)
	}
}

// SetRetry tells the client to wait d before reconnecting after the stream
// is lost (the SSE retry field). It returns [ErrClientGone] if the stream
// has ended.
func (c *Client) SetRetry(d time.Duration) error {
	if d <= 0 {
		return &EventError{Field: "retry", Reason: "must be positive"}
	}
	if !c.enqueue(queued{p: append(appendRetry(nil, d), '\n')}) {
		return ErrClientGone
	}
	return nil
}

// ResetLastEventID sends an empty id field, so that the client reconnects
// without a Last-Event-ID. It returns [ErrClientGone] if the stream has
// ended.
func (c *Client) ResetLastEventID() error {
	if !c.enqueue(queued{p: resetID}) {
		return ErrClientGone
	}
	return nil
}

var resetID = []byte("id\n\n")

// enqueue queues q for the writer without ever blocking. A client whose
// queue is full is disconnected as slow. It reports whether q was queued.
func (c *Client) enqueue(q queued) bool {
	lim := &c.b.limits
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if q.seq != 0 && !c.holding {
		if q.seq <= c.floor {
			c.mu.Unlock()
			return true // a late copy of an event the client has
		}
		c.floor = q.seq
	}
	if c.holding {
		if len(c.held) >= lim.QueueEvents {
			c.closeLocked(ReasonSlow)
			c.mu.Unlock()
			return false
		}
		c.held = append(c.held, q)
		c.mu.Unlock()
		return true
	}
	if len(c.queue)-c.extra >= lim.QueueEvents || c.qbytes-c.extraBytes+len(q.p) > lim.QueueBytes {
		c.closeLocked(ReasonSlow)
		c.mu.Unlock()
		return false
	}
	signal := len(c.queue) == 0
	c.queue = append(c.queue, q)
	c.qbytes += len(q.p)
	c.mu.Unlock()
	// The writer takes the whole queue on each wake-up, so only the
	// first item after a take needs to wake it.
	if signal {
		c.wakeUp()
	}
	return true
}

// queueReplay queues what a reconnecting client missed ahead of anything
// else, exempt from the queue limits until the writer takes it. It needs
// the client not yet visible to publishers, or c.mu.
func (c *Client) queueReplay(replay []queued) {
	for _, q := range replay {
		c.queue = append(c.queue, q)
		c.qbytes += len(q.p)
		c.floor = max(c.floor, q.seq)
	}
	c.extra, c.extraBytes = len(c.queue), c.qbytes
	if len(c.queue) > 0 {
		c.wakeUp()
	}
}

// release ends holding. It queues a resync event (first.p set), or the
// replay, which covers every kept event up to position from and its own
// last; then the live events held meanwhile that come after from and the
// replay (the others are copies the client has).
func (c *Client) release(replay []queued, from uint64, first queued) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	held := c.held
	c.held = nil
	if c.closed {
		return
	}
	c.floor = max(c.floor, from)
	if first.p != nil {
		c.queueReplay([]queued{first})
	} else {
		c.queueReplay(replay)
	}
	for _, q := range held {
		if q.seq != 0 {
			if q.seq <= c.floor {
				continue
			}
			c.floor = q.seq
		}
		c.queue = append(c.queue, q)
		c.qbytes += len(q.p)
	}
	if len(c.queue) > 0 {
		c.wakeUp()
	}
}

// wakeUp wakes the writer without queueing anything: the broker's
// writers for a taken-over stream, else Serve.
func (c *Client) wakeUp() {
	if t := c.tk.Load(); t != nil && t.wr != nil {
		t.wr.schedule(c, t)
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close ends the stream for reason unless it has ended already.
func (c *Client) close(reason DisconnectReason) {
	c.mu.Lock()
	c.closeLocked(reason)
	c.mu.Unlock()
}

func (c *Client) closeLocked(reason DisconnectReason) {
	if c.closed {
		return
	}
	c.closed = true
	c.reason = reason
	if reason == ReasonSlow || reason == ReasonTimeout || reason == ReasonClientGone {
		c.dropQueuedLocked() // nobody will read these
	}
	switch reason {
	case ReasonSlow:
		c.b.stats.slow.Add(1)
		c.interruptWrite()
	case ReasonTimeout:
		c.b.stats.timeouts.Add(1)
	}
	if c.done != nil {
		close(c.done)
	}
	c.wakeUp() // Serve and the dense writers learn of the end through wake
}

// dropQueuedLocked counts what is queued as dropped and clears it.
func (c *Client) dropQueuedLocked() {
	c.b.stats.dropped.Add(uint64(countEvents(c.queue)))
	clear(c.queue)
	c.queue = c.queue[:0]
	c.qbytes = 0
}

// dropping reports whether the stream ended in a way that leaves what
// is still unwritten to nobody.
func (c *Client) dropping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed && (c.reason == ReasonSlow || c.reason == ReasonTimeout || c.reason == ReasonClientGone)
}

// interruptWrite ends a write blocked on a peer that stopped reading, by
// moving its deadline to now. Connections' deadlines may be set from any
// goroutine.
func (c *Client) interruptWrite() {
	if t := c.tk.Load(); t != nil {
		if t.wr == nil {
			_ = t.conn.SetWriteDeadline(time.Now())
		}
		return
	}
	c.wmu.Lock()
	if c.serving {
		_ = c.rc.SetWriteDeadline(time.Now())
	}
	c.wmu.Unlock()
}
