package sse

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"
)

// take swaps out the queue for the writer.
func (c *Client) take() (batch []queued, closed bool) {
	c.mu.Lock()
	batch = c.queue
	c.queue = c.spare[:0]
	c.spare = nil
	c.qbytes = 0
	c.extra, c.extraBytes = 0, 0
	closed = c.closed
	c.mu.Unlock()
	return batch, closed
}

// recycle hands a written batch back for reuse.
func (c *Client) recycle(batch []queued) {
	clear(batch)
	c.mu.Lock()
	if c.spare == nil && cap(batch) <= 4*c.b.limits.QueueEvents {
		c.spare = batch[:0]
	}
	c.mu.Unlock()
}

// Serve writes the client's stream until it ends, and must be called by
// the handler that called [Broker.Add], which must not write to the
// response itself: Serve's goroutine is the stream's only writer. It
// returns when the client goes, is removed or is too slow, or the broker
// shuts down, having unregistered the client.
//
// The error is nil for a normal end: the client went away (closed the
// tab, the connection dropped), [Broker.Remove] or [Broker.CloseRoom], or
// [Broker.Shutdown]. It is a [*LimitError] for a client dropped as slow,
// and an error wrapping [os.ErrDeadlineExceeded] for one whose write
// passed Limits.WriteTimeout. So a handler logs only what deserves it:
//
//	if err := c.Serve(); err != nil {
//		log.Printf("stream %s: %v", c.ID(), err)
//	}
//
// Config.OnDisconnect is told the reason of every end.
//
// A stream the broker has taken over (Config.Dense) is written by the
// broker's writers: Serve returns nil at once, and the stream goes on
// after the handler has returned, until [Client.Context] is done. Its
// end is told to Config.OnDisconnect alone.
//
// Serve is to be called once; a second call returns [ErrServedTwice] at
// once. If the stream ended before Serve was called (the peer went while
// the handler was still busy), Serve returns nil at once.
func (c *Client) Serve() error {
	if !c.served.CompareAndSwap(unserved, serving) {
		if c.served.Load() == serving {
			return ErrServedTwice
		}
		return nil // the stream ended before Serve was called (see watch)
	}
	if c.unserved != nil {
		close(c.unserved)
		c.unserved = nil
	}
	t := c.tk.Load()
	if t != nil && t.wr != nil {
		return nil // the broker's writers have it (Add handed it on)
	}
	c.wmu.Lock()
	c.serving = true
	c.wmu.Unlock()
	defer c.b.finish(c)
	if t != nil {
		// Taken over, but not pollable: written from here, and closed
		// before Shutdown is told the stream has ended, as net/http no
		// longer closes it.
		defer func() { _ = t.conn.Close() }()
	}
	defer func() {
		c.wmu.Lock()
		c.serving = false
		c.wmu.Unlock()
	}()
	ctx := c.req.Context()
	ctxDone := ctx.Done()
	for {
		c.park(ctxDone)
		// Let publishers queue more before taking the queue: fewer,
		// fuller writes.
		runtime.Gosched()
		if ctx.Err() != nil {
			c.close(ReasonClientGone)
		}
		batch, closed := c.take()
		if len(batch) > 0 {
			err := c.write(batch)
			if err != nil {
				// How much of the batch reached the peer is not known:
				// its events count as dropped, not delivered.
				c.b.stats.dropped.Add(uint64(countEvents(batch)))
				if errors.Is(err, os.ErrDeadlineExceeded) {
					c.close(ReasonTimeout)
				} else {
					c.close(ReasonClientGone)
				}
				c.b.hookError(c, err)
				return c.err()
			}
		}
		if closed {
			return c.err()
		}
	}
}

// The states of Client.served.
const (
	unserved int32 = iota
	serving
	abandoned
)

// watch ends the stream if the request's context is done (the handler has
// returned or panicked, or the peer has gone) before Serve is called: no
// one else would unregister the client. One of the broker's helpers
// watches, only until Serve, normally microseconds; a stream handed on to
// the broker's writers by Add needs none.
func (c *Client) watch() {
	stop := make(chan struct{})
	c.unserved = stop
	done := c.req.Context().Done()
	c.b.helpers.spawn(func() {
		select {
		case <-done:
			if c.served.CompareAndSwap(unserved, abandoned) {
				c.close(ReasonClientGone)
				if t := c.tk.Load(); t != nil {
					_ = t.conn.Close() // taken over, so net/http will not
				}
				c.b.finish(c)
			}
		case <-stop:
		}
	})
}

// park waits for the writer's next wake-up or the request's end, in a
// frame of its own, so that a parked handler's stack is shallow enough
// for the garbage collector to shrink it back after a deep write.
//
//go:noinline
func (c *Client) park(ctxDone <-chan struct{}) {
	select {
	case <-c.wake:
	case <-ctxDone:
	}
}

func (c *Client) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.reason {
	case ReasonRemoved, ReasonShutdown, ReasonClientGone:
		return nil
	case ReasonSlow:
		return &LimitError{Limit: "QueueEvents/QueueBytes", Max: c.b.limits.QueueEvents}
	case ReasonTimeout:
		return fmt.Errorf("sse: a write to the client took longer than Limits.WriteTimeout (%v): %w", c.b.limits.WriteTimeout, os.ErrDeadlineExceeded)
	}
	return nil
}

func (c *Client) write(batch []queued) error {
	t := c.tk.Load()
	// The deadline moves only once half of it is used, so most batches
	// skip the timer update; each write still has between WriteTimeout/2
	// and WriteTimeout.
	if wt := c.b.limits.WriteTimeout; wt > 0 {
		if now := time.Now(); c.deadline.Sub(now) < wt/2 {
			c.deadline = now.Add(wt)
			var err error
			if t != nil {
				err = t.conn.SetWriteDeadline(c.deadline)
			} else {
				err = c.rc.SetWriteDeadline(c.deadline)
			}
			if err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
		}
	}
	if t != nil {
		if err := t.writeConn(batch); err != nil {
			return err
		}
		c.delivered(countEvents(batch))
		c.recycle(batch)
		return nil
	}
	events := 0
	for _, q := range batch {
		if _, err := c.w.Write(q.p); err != nil {
			return err
		}
		if q.event {
			events++
		}
	}
	if err := c.rc.Flush(); err != nil {
		return err
	}
	c.delivered(events)
	c.recycle(batch)
	return nil
}

// delivered counts events handed to the client's connection.
func (c *Client) delivered(events int) {
	if events > 0 {
		c.wrote.Store(true)
		c.b.stats.delivered.Add(uint64(events))
	}
}

func countEvents(batch []queued) int {
	n := 0
	for _, q := range batch {
		if q.event {
			n++
		}
	}
	return n
}
