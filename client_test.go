package sse_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSlowReaderDoesNotDelayOthers connects one raw TCP client that never
// reads and 100 that do; the publisher never waits, the 100 get every
// event in order and the stalled one is dropped.
func TestSlowReaderDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	// A long write deadline: readers on a loaded machine must not be
	// dropped for it; the stalled client is dropped by its queue filling.
	cfg := sse.Config{Limits: sse.Limits{QueueEvents: 64, WriteTimeout: 30 * time.Second}}
	h := newHooks(&cfg)
	b, ts := newBroker(t, cfg)

	stalled := dialStalled(t, ts.Listener.Addr().String(), "/events/r")
	stalledClient := h.client(t)

	const readers, events = 100, 2000
	streams := make([]*ssetest.Stream, readers)
	for i := range streams {
		streams[i] = ssetest.Open(t, nil, ts.URL+"/events/r", nil)
		h.client(t)
	}
	payload := strings.Repeat("x", 1024)
	// Readers read as fast as they can; the test publishes in windows so
	// that a reader slowed by the race detector is not dropped too.
	const window = 50
	acks := make(chan struct{}, readers)
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range events {
				ev := s.Event(t)
				if ev.Data != strconv.Itoa(n)+payload {
					t.Errorf("reader %d: event %d is %.20q", i, n, ev.Data)
					return
				}
				if n%window == window-1 {
					acks <- struct{}{}
				}
			}
		}()
	}
	for n := range events {
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(n) + payload}))
		if n%window == window-1 {
			for range readers {
				select {
				case <-acks:
				case <-time.After(ssetest.Timeout):
					t.Fatal("readers stopped receiving")
				}
			}
		}
	}
	wg.Wait()
	// The readers got everything while the stalled client sat there.
	// Now keep publishing until its buffers and queue are full.
	for _, s := range streams {
		s.Close()
	}
	var d, stalledGone disconnect
	for left := 0; left < readers; {
		if d = h.gone(t); d.c == stalledClient {
			stalledGone = d // its buffers filled already: fine too
			continue
		}
		assert.Equal(t, sse.ReasonClientGone, d.reason)
		left++
	}
	d = stalledGone
	for i := 0; d.c != stalledClient; i++ {
		require.Less(t, i, 50000, "the stalled client was never dropped: %+v", b.Stats())
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: payload}))
		select {
		case d = <-h.disconnected:
		default:
		}
	}
	assert.Same(t, stalledClient, d.c)
	assert.Contains(t, []sse.DisconnectReason{sse.ReasonSlow, sse.ReasonTimeout}, d.reason)
	st := b.Stats()
	assert.Equal(t, uint64(1), st.SlowDisconnects+st.Timeouts)
	assert.GreaterOrEqual(t, st.Delivered, uint64(readers*events))
	_ = stalled.Close()
}

// smallReceiveBuffer is a dialer whose sockets receive into n bytes, so
// that a peer that reads little fills up soon.
func smallReceiveBuffer(n int) net.Dialer {
	return net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		})
		return errors.Join(err, serr)
	}}
}

// dialStalled opens a stream over raw TCP with a small receive buffer and
// never reads from it.
func dialStalled(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	d := smallReceiveBuffer(4096)
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n", path)
	require.NoError(t, err)
	return conn
}

func TestWriteDeadlineDropsDeadPeer(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{Limits: sse.Limits{QueueEvents: 1 << 20, QueueBytes: 1 << 30, WriteTimeout: 300 * time.Millisecond}}
	h := newHooks(&cfg)
	b, ts := newBroker(t, cfg)
	dialStalled(t, ts.Listener.Addr().String(), "/events/r")
	h.client(t)
	chunk := strings.Repeat("z", 64<<10)
	for i := 0; ; i++ {
		require.Less(t, i, 10000, "the stalled peer was never dropped")
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: chunk}))
		select {
		case d := <-h.disconnected:
			assert.Equal(t, sse.ReasonTimeout, d.reason)
			assert.Equal(t, uint64(1), b.Stats().Timeouts)
			return
		default:
		}
		if i > 200 {
			// The socket buffers are full; wait for the deadline.
			d := h.gone(t)
			assert.Equal(t, sse.ReasonTimeout, d.reason)
			return
		}
	}
}

func TestReasonsAndLifecycle(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{}
	h := newHooks(&cfg)
	b, ts := newBroker(t, cfg)

	gone := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	h.client(t)
	gone.Close()
	assert.Equal(t, sse.ReasonClientGone, h.gone(t).reason)

	removed := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	c := h.client(t)
	require.NoError(t, b.Send(ctx, c, sse.Event{Data: "last words"}))
	b.Remove(c)
	assert.Equal(t, sse.ReasonRemoved, h.gone(t).reason)
	rest := removed.Ended(t)
	require.Len(t, rest, 1, "what was queued is written before the stream ends")
	assert.Equal(t, "last words", rest[0].Data)
	require.NoError(t, removed.Err())
	assert.ErrorIs(t, b.Send(ctx, c, sse.Event{Data: "x"}), sse.ErrClientGone)

	live := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	h.client(t)
	require.NoError(t, b.Shutdown(ctx))
	assert.Equal(t, sse.ReasonShutdown, h.gone(t).reason)
	live.Ended(t)
	assert.ErrorIs(t, b.Shutdown(ctx), sse.ErrClosed, "Shutdown is idempotent")
	assert.ErrorIs(t, b.Publish(ctx, "r", sse.Event{Data: "x"}), sse.ErrClosed)
	assert.ErrorIs(t, b.PublishAll(ctx, sse.Event{Data: "x"}), sse.ErrClosed)

	after := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	assert.Equal(t, http.StatusNoContent, after.Resp.StatusCode, "204 stops EventSource from reconnecting")
	_, err := b.Schedule("@every 1s", func(context.Context) {})
	assert.ErrorIs(t, err, sse.ErrClosed)
}
