package sse

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

// writers write every taken-over stream (Config.Dense): a fixed pool of
// goroutines (writerCount) takes streams with something to write from one
// run queue, and each write goes to the socket without waiting. What a
// full socket does not take waits in the stream's pending bytes until
// the poller says it has room again, so that no writer ever waits on a
// client. A stream is in the run queue at most once, and written by one
// writer at a time.
type writers struct {
	b    *Broker
	poll *poller

	mu      sync.Mutex
	cond    sync.Cond
	runq    []*Client
	waiting int // writers blocked in cond.Wait
	stopped bool
	wg      sync.WaitGroup
}

// A stream's place in the run queue (takeover.state).
const (
	streamIdle    = iota
	streamQueued  // in the run queue
	streamRunning // being written
	streamAgain   // being written, and to be queued again after
)

// writerCount is the size of the pool: half of GOMAXPROCS, at least one.
// Writing is nearly all system calls, and a stream written less often
// carries more events per call: on 2 cores, one writer delivered 1.3 to
// 1.4 times as many events per second as two, at 0.7 times the CPU per
// event (bench fan-out at 1 000 and 10 000 subscribers), as it leaves the
// other core to publishers and the network.
func writerCount() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// writeChunk is the most one write hands the socket; each writer has a
// buffer of this size to gather a stream's queued events into.
const writeChunk = 64 << 10

func newWriters(b *Broker) (*writers, error) {
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	w := &writers{b: b, poll: p}
	w.cond.L = &w.mu
	n := writerCount()
	w.wg.Add(n)
	for range n {
		go w.run()
	}
	return w, nil
}

// schedule puts c in the run queue unless it is there already; a stream
// being written is queued again once its writer is done.
func (w *writers) schedule(c *Client, t *takeover) {
	for {
		switch s := t.state.Load(); s {
		case streamIdle:
			if t.state.CompareAndSwap(streamIdle, streamQueued) {
				w.push(c)
				return
			}
		case streamRunning:
			if t.state.CompareAndSwap(streamRunning, streamAgain) {
				return
			}
		default:
			return
		}
	}
}

func (w *writers) push(c *Client) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.runq = append(w.runq, c)
	wake := w.waiting > 0
	w.mu.Unlock()
	if wake {
		w.cond.Signal()
	}
}

// take waits for streams to write and returns up to a fair share of the
// queue, or nil once stopped.
func (w *writers) take(into []*Client) []*Client {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.runq) == 0 {
		if w.stopped {
			return nil
		}
		w.waiting++
		w.cond.Wait()
		w.waiting--
	}
	n := min(len(w.runq), max(1, len(w.runq)/writerCount()), 256)
	into = append(into[:0], w.runq[:n]...)
	rest := copy(w.runq, w.runq[n:])
	clear(w.runq[rest:])
	w.runq = w.runq[:rest]
	if len(w.runq) > 0 && w.waiting > 0 {
		w.cond.Signal()
	}
	return into
}

func (w *writers) run() {
	defer w.wg.Done()
	buf := make([]byte, 0, writeChunk)
	var batch []*Client
	for {
		batch = w.take(batch)
		if batch == nil {
			return
		}
		// Let publishers queue more first: fewer, fuller writes.
		runtime.Gosched()
		for i, c := range batch {
			batch[i] = nil
			t := c.tk.Load()
			t.state.Store(streamRunning)
			buf = w.write(c, t, buf[:0])
			if !t.state.CompareAndSwap(streamRunning, streamIdle) {
				t.state.Store(streamQueued)
				w.push(c)
			}
		}
	}
}

// stop ends the writers and the poller once every taken-over stream has
// ended (Shutdown calls it after the streams' handlers are done).
func (w *writers) stop() {
	w.mu.Lock()
	w.stopped = true
	w.runq = nil
	w.mu.Unlock()
	w.cond.Broadcast()
	w.wg.Wait()
	w.poll.stop()
}

// write writes what is pending and queued for c, as far as the socket
// takes it, and ends the stream once it is closed and written (or its
// bytes are to be dropped). buf is the writer's scratch buffer.
func (w *writers) write(c *Client, t *takeover, buf []byte) []byte {
	if t.ended {
		return buf
	}
	if t.peerGone.Load() || t.timedOut() {
		w.end(c, t)
		return buf
	}
	if len(t.pending) > 0 {
		n, err := writeNow(t.raw, t.pending)
		if err != nil {
			w.fail(c, t, err)
			return buf
		}
		t.advance(c, n)
		if len(t.pending) > 0 {
			if c.dropping() {
				w.end(c, t)
			}
			return buf // the poller queues it again when the socket has room
		}
		t.unstall()
	}
	batch, closed := c.take()
	for _, q := range batch {
		buf = append(buf, q.p...)
	}
	if len(buf) > 0 {
		n, err := writeNow(t.raw, buf)
		if err != nil {
			w.b.stats.dropped.Add(uint64(countEvents(batch)))
			c.recycle(batch)
			w.fail(c, t, err)
			return buf
		}
		if n < len(buf) {
			t.keep(c, batch, buf, n)
			c.recycle(batch)
			t.stall(c, w.b.limits.WriteTimeout)
			return shrink(buf)
		}
		c.delivered(countEvents(batch))
	}
	c.recycle(batch)
	if closed {
		w.end(c, t)
	}
	return shrink(buf)
}

// shrink drops a scratch buffer that a large batch grew.
func shrink(buf []byte) []byte {
	if cap(buf) > 4*writeChunk {
		return make([]byte, 0, writeChunk)
	}
	return buf
}

// fail ends a stream whose write failed: the peer has gone.
func (w *writers) fail(c *Client, t *takeover, err error) {
	c.close(ReasonClientGone)
	w.b.hookError(c, fmt.Errorf("sse: writing to the client: %w", err))
	w.end(c, t)
}

// end closes a taken-over stream's connection and unregisters it. What
// could not be written is counted as dropped.
func (w *writers) end(c *Client, t *takeover) {
	if t.ended {
		return
	}
	t.ended = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if t.timedOut() {
		c.close(ReasonTimeout)
		w.b.hookError(c, fmt.Errorf("sse: a write to the client took longer than Limits.WriteTimeout (%v): %w", w.b.limits.WriteTimeout, os.ErrDeadlineExceeded))
	}
	c.close(ReasonClientGone) // a no-op unless the peer went first
	w.b.stats.dropped.Add(uint64(len(t.pendingEnds)))
	t.pending, t.pendingEnds = nil, nil
	w.poll.remove(t)
	_ = t.conn.Close()
	// Unregistering takes the broker's lock and calls OnDisconnect: not
	// on a writer, which must never wait.
	go w.b.finish(c)
}

// stall starts the write timeout of bytes the socket did not take.
func (t *takeover) stall(c *Client, timeout time.Duration) {
	if timeout <= 0 || t.timer != nil {
		return
	}
	t.stalls++
	stall := t.stalls
	t.timer = time.AfterFunc(timeout, func() {
		t.expired.Store(stall)
		c.wakeUp()
	})
}

// timedOut reports whether the pending bytes' write timeout has passed;
// stalls is zero while none was started (WriteTimeout off, or nothing
// pending yet).
func (t *takeover) timedOut() bool {
	return len(t.pending) > 0 && t.stalls > 0 && t.expired.Load() == t.stalls
}

// keep makes what the socket took n bytes of, buf, pending: the events
// of batch written whole count as delivered, the others are remembered by
// where they end in pending.
func (t *takeover) keep(c *Client, batch []queued, buf []byte, n int) {
	t.pending = append([]byte(nil), buf[n:]...)
	end, whole := 0, 0
	for _, q := range batch {
		end += len(q.p)
		switch {
		case !q.event:
		case end <= n:
			whole++
		default:
			t.pendingEnds = append(t.pendingEnds, end-n)
		}
	}
	c.delivered(whole)
}

// advance takes n written bytes off pending; the events that end within
// them count as delivered.
func (t *takeover) advance(c *Client, n int) {
	t.pending = t.pending[n:]
	whole := 0
	for whole < len(t.pendingEnds) && t.pendingEnds[whole] <= n {
		whole++
	}
	t.pendingEnds = t.pendingEnds[whole:]
	for i := range t.pendingEnds {
		t.pendingEnds[i] -= n
	}
	c.delivered(whole)
	if len(t.pending) == 0 {
		t.pending, t.pendingEnds = nil, nil
	}
}

// unstall stops the write timeout of pending bytes once they are written.
func (t *takeover) unstall() {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}
