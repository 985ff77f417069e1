package sse_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests are about the dense mode itself; they set Config.Dense in
// either test mode.

func needsTakeOver(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("needs Linux and its epoll, which Config.Dense takes streams over with; this is %s (no SSE_REQUIRE_* switch: the mode is Linux-only)", runtime.GOOS)
	}
}

// denseServer mounts a dense broker at /events/{room} with a handler
// that reports when Serve has returned, and what it returned (see
// rt3Start).
func denseServer(t *testing.T, cfg sse.Config) (*sse.Broker, *httptest.Server, chan rt3Served) {
	t.Helper()
	s := rt3Start(t, cfg)
	return s.b, s.ts, s.served
}

// rawStream is a stream read over a bare TCP connection, with no
// goroutine of the test's behind it.
type rawStream struct {
	conn net.Conn
	r    *bufio.Reader
	head string
}

func dialRaw(t *testing.T, addr, path string) *rawStream {
	t.Helper()
	s := openRaw(t, addr, path)
	t.Cleanup(func() { _ = s.conn.Close() })
	return s
}

// openRaw is dialRaw for a test that closes the connection itself.
func openRaw(t *testing.T, addr, path string) *rawStream {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	return startRaw(t, conn, path, "")
}

// startRaw sends a stream request with the extra header lines given on
// conn, and reads the response head.
func startRaw(t *testing.T, conn net.Conn, path, header string) *rawStream {
	t.Helper()
	_, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n%s\r\n", path, header)
	require.NoError(t, err)
	s := &rawStream{conn: conn, r: bufio.NewReaderSize(conn, 1024)}
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	for {
		line, err := s.r.ReadString('\n')
		require.NoError(t, err, "reading the response head")
		s.head += line
		if line == "\r\n" {
			return s
		}
	}
}

// block reads one SSE block (up to a blank line).
func (s *rawStream) block(t *testing.T) string {
	t.Helper()
	require.NoError(t, s.conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	var b strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		require.NoError(t, err, "reading a block after %q", b.String())
		if line == "\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

// ended waits for the server to close the connection.
func (s *rawStream) ended(t *testing.T) {
	t.Helper()
	require.NoError(t, s.conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	_, err := io.Copy(io.Discard, s.r)
	if !errors.Is(err, syscall.ECONNRESET) {
		// A server that closes with unread bytes from the peer resets.
		require.NoError(t, err, "the server did not close the stream")
	}
}

func TestDenseServeReturnsAtOnce(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{History: sse.History{Size: 10}}
	h := newHooks(&cfg)
	b, ts, served := denseServer(t, cfg)
	s := dialRaw(t, ts.Listener.Addr().String(), "/events/r")
	c := h.client(t)
	assert.Contains(t, s.head, "HTTP/1.1 200 OK\r\n")
	assert.Contains(t, s.head, "Connection: close\r\n")
	assert.Contains(t, s.head, "Content-Type: text/event-stream\r\n")
	assert.NotContains(t, s.head, "Transfer-Encoding")
	assert.Contains(t, s.block(t), "retry: ")
	// The handler is gone before the first event.
	select {
	case v := <-served:
		require.NoError(t, v.err)
	case <-time.After(ssetest.Timeout):
		t.Fatal("Serve did not return for a taken-over stream")
	}
	require.NoError(t, c.Context().Err())
	require.NoError(t, b.Publish(ctx, "r", sse.Event{ID: "1", Data: []byte("one")}))
	assert.Equal(t, "id: 1\ndata: one\n", s.block(t))
	b.Remove(c)
	s.ended(t)
	d := h.gone(t)
	assert.Equal(t, sse.ReasonRemoved, d.reason)
	<-c.Context().Done()
	assert.ErrorIs(t, c.Context().Err(), context.Canceled)
}

// A taken-over stream has no goroutine while idle: the server's count
// does not grow with its streams.
func TestDenseNoGoroutinePerStream(t *testing.T) {
	t.Parallel()
	const streams = 200
	cfg := sse.Config{HeartbeatInterval: -1}
	b, ts, served := denseServer(t, cfg)
	s := dialRaw(t, ts.Listener.Addr().String(), "/events/r") // starts the writers
	s.block(t)
	<-served
	base := runtime.NumGoroutine()
	all := make([]*rawStream, streams)
	for i := range all {
		all[i] = dialRaw(t, ts.Listener.Addr().String(), "/events/r")
		all[i].block(t)
		<-served
	}
	// Other tests run in parallel: a goroutine per stream would show as
	// at least 200 more; allow the net/http goroutines just returning.
	ssetest.Wait(t, "the handlers' goroutines to end", func() bool {
		return runtime.NumGoroutine() < base+streams/4
	})
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: []byte("x")}))
	for _, s := range append(all, s) {
		assert.Contains(t, s.block(t), "data: x")
	}
}

// A peer that sends anything after its request (a pipelined request, a
// half-close) is dropped, without a reader goroutine.
func TestDenseDropsPeersThatSendOrHalfClose(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{}
	h := newHooks(&cfg)
	_, ts, _ := denseServer(t, cfg)
	addr := ts.Listener.Addr().String()

	t.Run("bytes after the request", func(t *testing.T) {
		s := dialRaw(t, addr, "/events/r")
		h.client(t)
		_, err := io.WriteString(s.conn, "GET /events/r HTTP/1.1\r\nHost: test\r\n\r\n")
		require.NoError(t, err)
		s.ended(t)
		assert.Equal(t, sse.ReasonClientGone, h.gone(t).reason)
	})
	t.Run("half-close", func(t *testing.T) {
		s := dialRaw(t, addr, "/events/r")
		h.client(t)
		require.NoError(t, s.conn.(*net.TCPConn).CloseWrite())
		s.ended(t)
		assert.Equal(t, sse.ReasonClientGone, h.gone(t).reason)
	})
	t.Run("pipelined with the request", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		req := "GET /events/r HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n"
		_, err = io.WriteString(conn, req+req)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
		// The second request arrives with the first (net/http has it
		// buffered at the takeover) or just after (the poller sees it):
		// either way the connection is closed, not read forever.
		_, err = io.Copy(io.Discard, conn)
		require.NoError(t, err)
	})
	t.Run("reset", func(t *testing.T) {
		s := dialRaw(t, addr, "/events/r")
		h.client(t)
		require.NoError(t, s.conn.(*net.TCPConn).SetLinger(0))
		require.NoError(t, s.conn.Close())
		assert.Equal(t, sse.ReasonClientGone, h.gone(t).reason)
	})
}

// A peer that stops reading is dropped by Limits.WriteTimeout, and one
// that reads slowly by the queue limit, while a reader beside them gets
// every event.
func TestDenseSlowPeersDelayNobody(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{HeartbeatInterval: -1, Limits: sse.Limits{QueueEvents: 1024, QueueBytes: 64 << 20, WriteTimeout: 300 * time.Millisecond}}
	h := newHooks(&cfg)
	b, ts, _ := denseServer(t, cfg)
	addr := ts.Listener.Addr().String()
	stalled := dialStalled(t, addr, "/events/r")
	stalledClient := h.client(t)
	reader := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	h.client(t)
	chunk := strings.Repeat("z", 16<<10)
	const events = 400
	go func() {
		for i := range events {
			_ = b.Publish(ctx, "r", sse.Event{ID: fmt.Sprint(i + 1), Data: []byte(chunk)})
		}
	}()
	for i := range events {
		e := reader.Event(t)
		require.Equal(t, fmt.Sprint(i+1), e.ID)
	}
	d := h.gone(t)
	assert.Same(t, stalledClient, d.c)
	assert.Contains(t, []sse.DisconnectReason{sse.ReasonSlow, sse.ReasonTimeout}, d.reason)
	_ = stalled.Close()
}

// Shutdown waits for taken-over streams, which net/http no longer
// tracks: when it returns, every connection is closed and what was
// queued was written.
func TestDenseShutdownWaitsForStreams(t *testing.T) {
	t.Parallel()
	needsTakeOver(t)
	b, err := sse.New(sse.Config{Dense: true, HeartbeatInterval: -1, Room: func(*http.Request) (string, error) { return "", nil }})
	require.NoError(t, err)
	ts := httptest.NewServer(b)
	defer ts.Close()
	streams := make([]*rawStream, 20)
	for i := range streams {
		streams[i] = dialRaw(t, ts.Listener.Addr().String(), "/?x")
		streams[i].block(t)
	}
	require.NoError(t, b.PublishAll(ctx, sse.Event{Data: []byte("last")}))
	require.NoError(t, b.Shutdown(ctx))
	for _, s := range streams {
		// Closed already: the read needs no wait.
		require.NoError(t, s.conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
		rest, err := io.ReadAll(s.r)
		require.NoError(t, err)
		assert.Equal(t, "data: last\n\n", string(rest))
	}
}

// A listener that wraps its connections leaves them hijackable but not
// pollable: Serve writes such a stream and returns when it ends.
func TestDenseWrappedConnection(t *testing.T) {
	t.Parallel()
	needsTakeOver(t)
	cfg := sse.Config{Dense: true}
	h := newHooks(&cfg)
	b, err := sse.New(cfg)
	require.NoError(t, err)
	served := make(chan error, 1)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := b.Add(w, r, "r")
		if err != nil {
			return
		}
		served <- c.Serve()
	}))
	ts.Listener = wrappedListener{ts.Listener}
	ts.Start()
	defer ts.Close()
	defer b.Shutdown(ctx)
	s := dialRaw(t, ts.Listener.Addr().String(), "/")
	assert.Contains(t, s.head, "Connection: close\r\n")
	s.block(t)
	h.client(t)
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: []byte("hi")}))
	assert.Equal(t, "data: hi\n", s.block(t))
	select {
	case <-served:
		t.Fatal("Serve returned while its unpollable stream was open")
	default:
	}
	require.NoError(t, b.Shutdown(ctx))
	require.NoError(t, <-served)
	s.ended(t)
}

type wrappedListener struct{ net.Listener }

func (l wrappedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrappedConn{c}, nil
}

type wrappedConn struct{ net.Conn }
