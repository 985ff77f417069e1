package sse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
)

// A takeover is the state of a stream whose connection the broker has
// taken over from net/http (Config.Dense). With wr set, the broker's
// writers write it and its poller watches it, and no goroutine is left
// to it while it is idle; without (a connection that cannot be polled,
// such as one wrapped by the listener), Serve writes it as it writes any
// stream, straight to the connection.
type takeover struct {
	conn net.Conn
	raw  syscall.RawConn
	wr   *writers
	key  uint64 // in the poller

	state    atomic.Int32  // streamIdle, streamQueued, …: the run queue's
	peerGone atomic.Bool   // the poller saw a hang-up, a reset or bytes
	expired  atomic.Uint32 // the stall whose write timeout passed

	// The writer's own: one writer at a time, ordered by state.
	pending     []byte      // written to no socket yet, of a write the socket took part of
	pendingEnds []int       // where each event in pending ends, in it
	timer       *time.Timer // Limits.WriteTimeout for pending
	stalls      uint32
	ended       bool
}

// canTake reports whether Add should take the request's connection over:
// Config.Dense is set, and the request came over plain HTTP/1.x with no
// body. HTTP/2 and TLS streams, and those with a body to drain, stay on
// the default path. (Add answers a HEAD request before.)
func (b *Broker) canTake(c *Client) bool {
	r := c.req
	return b.cfg.Dense && canTakeOver && r.ProtoMajor == 1 && r.TLS == nil && c.bodyDone == nil
}

// takeOver sends the response head and the opening block over the
// hijacked connection and hands the stream to the writers. It reports
// false, having done nothing, when the connection cannot be hijacked
// (a ResponseWriter that does not support it), and an error when the
// client cannot be streamed to.
func (b *Broker) takeOver(c *Client, w http.ResponseWriter) (bool, error) {
	conn, brw, err := c.rc.Hijack()
	if errors.Is(err, http.ErrHijacked) {
		// Someone else has the connection: nothing can be written.
		return true, fmt.Errorf("sse: the connection was hijacked before Add: %w", err)
	}
	if err != nil {
		return false, nil
	}
	h := w.Header()
	h.Set("Connection", "close")
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if brw.Reader.Buffered() > 0 {
		// The client sent more after its request (a pipelined one),
		// which would never be answered.
		_ = conn.Close()
		return true, ErrClientGone
	}
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&head)
	head.WriteString("\r\n")
	if !b.cfg.OmitOpeningBlock {
		head.Write(b.opening(c))
	}
	if wt := b.limits.WriteTimeout; wt > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(wt))
	}
	if _, err := conn.Write(head.Bytes()); err != nil {
		_ = conn.Close()
		return true, err
	}
	_ = conn.SetWriteDeadline(time.Time{})
	// The response and its buffers are net/http's to free now. Add
	// hands the stream on after OnConnect, so that nothing can end it
	// before.
	c.w, c.rc = nil, nil
	c.taken.Store(&takeover{conn: conn, raw: rawConn(conn)})
	return true, nil
}

// handOn gives a taken-over stream to the writers and the poller, or,
// for a connection they cannot watch, leaves it to Serve. It reports
// whether the writers have it.
func (c *Client) handOn(t *takeover) bool {
	if t.raw != nil {
		if wr := c.b.writers(); wr != nil && wr.poll.add(c, t) == nil {
			t.wr = wr
		}
	}
	c.tk.Store(t)
	c.wakeUp() // for what was queued before
	return t.wr != nil
}

// writers returns the broker's writers, starting them with the first
// taken-over stream; nil if they cannot start (the poller's error is
// logged once).
func (b *Broker) writers() *writers {
	b.wrOnce.Do(func() {
		wr, err := newWriters(b)
		if err != nil {
			b.log.Warn("sse: taken-over streams are written by their handlers", "error", err)
			return
		}
		b.wrMu.Lock()
		b.wr = wr
		b.wrMu.Unlock()
	})
	b.wrMu.Lock()
	defer b.wrMu.Unlock()
	return b.wr
}

// stopWriters stops the writers once every stream has ended.
func (b *Broker) stopWriters() {
	b.wrMu.Lock()
	wr := b.wr
	b.wr = nil
	b.wrMu.Unlock()
	if wr != nil {
		wr.stop()
	}
}

// writeConn writes a batch of a taken-over stream that Serve writes (a
// connection the poller cannot watch).
func (t *takeover) writeConn(batch []queued) error {
	bufs := make(net.Buffers, 0, len(batch))
	for _, q := range batch {
		bufs = append(bufs, q.p)
	}
	_, err := bufs.WriteTo(t.conn)
	return err
}

// streamContext is a taken-over stream's context: done when the stream
// ends, with the request's values. The request's own context is done as
// soon as the handler returns.
type streamContext struct {
	// The request's, for its values, without its cancellation: so that
	// context.Cause, which looks for a canceled parent through Value, is
	// nil while the stream lives on every Go version.
	context.Context
	c *Client
}

func (s streamContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (s streamContext) Done() <-chan struct{}       { return s.c.Done() }

func (s streamContext) Err() error {
	select {
	case <-s.c.Done():
		return context.Canceled
	default:
		return nil
	}
}
