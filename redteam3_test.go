package sse_test

// Third round of red-team tests, against Config.Dense (taken-over
// streams). Every test sets Config.Dense itself, so they run the same in
// either SSE_TEST_MODE. The ones that fail on the code they were written
// against say so in their comment.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rt3Server is a dense broker at /events/{room}; the handler reports the
// request's own context and what Serve returned.
type rt3Server struct {
	b      *sse.Broker
	ts     *httptest.Server
	addr   string
	served chan rt3Served
	// accepted counts the connections the server accepted, settled those
	// of them hijacked or closed: none is still on its way to a handler.
	accepted, settled atomic.Int64
}

type rt3Served struct {
	c      *sse.Client
	reqCtx context.Context // the request's context, done when the handler returns
	ctx    context.Context // c.Context() taken between Add and Serve
	err    error
}

func rt3Start(t *testing.T, cfg sse.Config) *rt3Server {
	t.Helper()
	needsTakeOver(t)
	cfg.Dense = true
	b, err := sse.New(cfg)
	require.NoError(t, err)
	s := &rt3Server{b: b, served: make(chan rt3Served, 4096)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events/{room}", func(w http.ResponseWriter, r *http.Request) {
		c, err := b.Add(w, r, r.PathValue("room"))
		if err != nil {
			return
		}
		ctx := c.Context()
		err = c.Serve()
		s.served <- rt3Served{c: c, reqCtx: r.Context(), ctx: ctx, err: err}
	})
	s.ts = httptest.NewUnstartedServer(mux)
	s.ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.accepted.Add(1)
		case http.StateHijacked, http.StateClosed:
			s.settled.Add(1)
		}
	}
	s.ts.Start()
	s.addr = s.ts.Listener.Addr().String()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Shutdown(sctx)
		s.ts.Close()
	})
	return s
}

func (s *rt3Server) waitServed(t *testing.T) rt3Served {
	t.Helper()
	return receive(t, s.served, "Serve did not return")
}

// rt3Dial opens a raw stream whose socket receives into a small buffer
// (rcvbuf bytes), so that the server's writes are partial.
func rt3Dial(t *testing.T, addr, path string, rcvbuf int, header string) *rawStream {
	t.Helper()
	d := net.Dialer{}
	if rcvbuf > 0 {
		d = smallReceiveBuffer(rcvbuf)
	}
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return startRaw(t, conn, path, header)
}

// rt3Payload is data of n bytes that tells where each of its bytes is, so
// that a skipped or repeated byte shows.
func rt3Payload(seq, n int) string {
	b := make([]byte, 0, n+48)
	for i := 0; len(b) < n; i++ {
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
	}
	return string(b[:n])
}

// TestRedTeam3ContextTakenBeforeServe: Client.Context() is documented as
// the context that lasts as long as the stream. Taken in OnConnect, or in
// the handler between Add and Serve (the natural place to start work for
// the stream), it is the request's context, which net/http cancels as soon
// as the handler returns, i.e. at once for a taken-over stream, while the
// stream goes on. Client.Context used to return the stream's context
// only once Serve had handed the stream on; it now does from the
// takeover in Add.
func TestRedTeam3ContextTakenBeforeServe(t *testing.T) {
	t.Parallel()
	connCtx := make(chan context.Context, 1)
	cfg := sse.Config{HeartbeatInterval: -1, OnConnect: func(c *sse.Client) { connCtx <- c.Context() }}
	s := rt3Start(t, cfg)
	st := dialRaw(t, s.addr, "/events/r")
	st.block(t)
	sv := s.waitServed(t)
	require.NoError(t, sv.err)
	// The handler has returned: net/http cancels the request's context.
	ssetest.Wait(t, "the request's context to be done", func() bool { return sv.reqCtx.Err() != nil })
	// The stream is still live.
	require.NoError(t, s.b.Publish(ctx, "r", sse.Event{Data: "still here"}))
	assert.Equal(t, "data: still here\n", st.block(t))
	assert.NoError(t, sv.c.Context().Err(), "c.Context() taken after Serve")
	assert.NoError(t, sv.ctx.Err(), "c.Context() taken between Add and Serve is done while the stream is live")
	assert.NoError(t, (<-connCtx).Err(), "c.Context() taken in OnConnect is done while the stream is live")
}

// TestRedTeam3NoWriteTimeoutPartialWrite: with Limits.WriteTimeout
// negative ("no deadline"), an event larger than the socket's buffers
// must reach a client that reads it. It used to be ended as timed out
// at the first EPOLLOUT after a partial write: with no stall timer
// started, t.expired (0) matched t.stalls (0) (see takeover.timedOut).
func TestRedTeam3NoWriteTimeoutPartialWrite(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 16)
	cfg := sse.Config{HeartbeatInterval: -1,
		Limits:  sse.Limits{WriteTimeout: -1, QueueBytes: 64 << 20},
		OnError: func(_ *sse.Client, err error) { errs <- err }}
	h := newHooks(&cfg)
	s := rt3Start(t, cfg)
	st := rt3Dial(t, s.addr, "/events/r", 4096, "")
	st.block(t)
	h.client(t)
	// Over the 4 MiB a loopback socket's send buffer grows to.
	data := rt3Payload(1, 10<<20)
	require.NoError(t, s.b.Publish(ctx, "r", sse.Event{ID: "big", Data: data}))
	require.NoError(t, st.conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	line, err := st.r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "id: big\n", line)
	got, err := st.r.ReadString('\n')
	if err != nil {
		select {
		case d := <-h.disconnected:
			t.Errorf("the stream ended with %v after %d of %d bytes", d.reason, len(got), len(data)+7)
		default:
		}
		select {
		case e := <-errs:
			t.Errorf("OnError: %v", e)
		default:
		}
		t.Fatalf("reading the event: %v (Stats %+v)", err, s.b.Stats())
	}
	assert.True(t, got == "data: "+data+"\n", "the event arrived changed")
	assert.Equal(t, uint64(0), s.b.Stats().Timeouts)
}

// TestRedTeam3PartialWritesExact: a client with a tiny receive buffer
// that keeps reading gets every byte of events of all sizes, none
// skipped or repeated, while partial writes are resumed; a fast reader
// beside it gets them too. Passes.
func TestRedTeam3PartialWritesExact(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{HeartbeatInterval: -1, Limits: sse.Limits{WriteTimeout: 8 * time.Second, QueueEvents: 4096, QueueBytes: 256 << 20}}
	s := rt3Start(t, cfg)
	slow := rt3Dial(t, s.addr, "/events/r", 2048, "")
	slow.block(t)
	fast := dialRaw(t, s.addr, "/events/r")
	fast.block(t)
	const events = 120
	sizes := make([]int, events)
	for i := range sizes {
		sizes[i] = []int{1, 100, 4095, 4096, 70 << 10, 300 << 10, 17, 1 << 20}[i%8] + i
	}
	pubErr := make(chan error, 1)
	go func() {
		for i := range events {
			if err := s.b.Publish(ctx, "r", sse.Event{ID: strconv.Itoa(i + 1), Data: rt3Payload(i, sizes[i])}); err != nil {
				pubErr <- err
				return
			}
		}
		pubErr <- nil
	}()
	var wg sync.WaitGroup
	for name, st := range map[string]*rawStream{"slow": slow, "fast": fast} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range events {
				require.NoError(t, st.conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
				want := "id: " + strconv.Itoa(i+1) + "\ndata: " + rt3Payload(i, sizes[i]) + "\n\n"
				got := make([]byte, len(want))
				if _, err := io.ReadFull(st.r, got); err != nil {
					t.Errorf("%s: event %d: %v", name, i+1, err)
					return
				}
				if string(got) != want {
					t.Errorf("%s: event %d differs (%.60q...)", name, i+1, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, <-pubErr)
	st := s.b.Stats()
	assert.Equal(t, uint64(2*events), st.Delivered)
	assert.Zero(t, st.Dropped+st.Timeouts+st.SlowDisconnects)
}

// TestRedTeam3RemoveAndShutdownWhilePending: Remove, CloseRoom and
// Shutdown of a stream whose socket is full write what is queued and
// pending before ending it, with the right reason, once. Passes.
func TestRedTeam3RemoveAndShutdownWhilePending(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"Remove", "CloseRoom", "Shutdown"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			cfg := sse.Config{HeartbeatInterval: -1, Limits: sse.Limits{WriteTimeout: 8 * time.Second, QueueBytes: 64 << 20}}
			h := newHooks(&cfg)
			s := rt3Start(t, cfg)
			st := rt3Dial(t, s.addr, "/events/r", 4096, "")
			st.block(t)
			c := h.client(t)
			const events = 10
			for i := range events {
				require.NoError(t, s.b.Publish(ctx, "r", sse.Event{ID: strconv.Itoa(i + 1), Data: rt3Payload(i, 1<<20)}))
			}
			shut := make(chan error, 1)
			switch how {
			case "Remove":
				s.b.Remove(c)
			case "CloseRoom":
				require.NoError(t, s.b.CloseRoom(ctx, "r"))
			case "Shutdown":
				go func() { shut <- s.b.Shutdown(ctx) }()
			}
			require.NoError(t, st.conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
			rest, err := io.ReadAll(st.r)
			require.NoError(t, err)
			var want strings.Builder
			for i := range events {
				fmt.Fprintf(&want, "id: %d\ndata: %s\n\n", i+1, rt3Payload(i, 1<<20))
			}
			assert.True(t, string(rest) == want.String(), "got %d bytes, want %d", len(rest), want.Len())
			d := h.gone(t)
			wantReason := sse.ReasonRemoved
			if how == "Shutdown" {
				wantReason = sse.ReasonShutdown
				require.NoError(t, <-shut)
			}
			assert.Equal(t, wantReason, d.reason)
			assert.Same(t, c, d.c)
			select {
			case d := <-h.disconnected:
				t.Errorf("OnDisconnect called again: %v", d.reason)
			default:
			}
			stats := s.b.Stats()
			assert.Equal(t, uint64(events), stats.Delivered)
			assert.Zero(t, stats.Dropped+stats.Timeouts)
		})
	}
}

// TestRedTeam3StalledPendingDropped: a peer that stops reading with bytes
// pending is dropped within WriteTimeout even while nothing more is
// published, Shutdown waits for it and closes the connection, and a
// reader beside it is not held up. Passes.
func TestRedTeam3StalledPendingDropped(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 16)
	cfg := sse.Config{HeartbeatInterval: -1,
		Limits:  sse.Limits{WriteTimeout: 300 * time.Millisecond, QueueBytes: 64 << 20},
		OnError: func(_ *sse.Client, err error) { errs <- err }}
	h := newHooks(&cfg)
	s := rt3Start(t, cfg)
	stalled := rt3Dial(t, s.addr, "/events/r", 4096, "")
	stalled.block(t)
	sc := h.client(t)
	reader := dialRaw(t, s.addr, "/events/r")
	reader.block(t)
	h.client(t)
	// 6 MiB: more than the stalled socket's buffers take.
	require.NoError(t, s.b.Publish(ctx, "r", sse.Event{Data: rt3Payload(0, 6<<20)}))
	require.NoError(t, s.b.Publish(ctx, "r", sse.Event{Data: "small"}))
	require.NoError(t, reader.conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	got := make([]byte, len("data: \n\n")+6<<20)
	_, err := io.ReadFull(reader.r, got)
	require.NoError(t, err)
	assert.Equal(t, "data: small\n", reader.block(t))
	d := h.gone(t)
	assert.Same(t, sc, d.c)
	assert.Equal(t, sse.ReasonTimeout, d.reason)
	assert.ErrorIs(t, <-errs, os.ErrDeadlineExceeded)
	st := s.b.Stats()
	assert.Equal(t, uint64(1), st.Timeouts)
	assert.Equal(t, uint64(2), st.Dropped, "the pending event and the one queued behind it")
	assert.Equal(t, uint64(2), st.Delivered)
	// The stalled connection is closed.
	require.NoError(t, stalled.conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	_, err = io.Copy(io.Discard, stalled.r)
	if !errors.Is(err, syscall.ECONNRESET) {
		require.NoError(t, err)
	}
	require.NoError(t, s.b.Shutdown(ctx))
	reader.ended(t)
}

// rt3FDs counts the process's open descriptors.
func rt3FDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(fds)
}

// TestRedTeam3ChurnRoomsNeverCross: streams come and go on four
// goroutines (closing, resetting, or sending bytes), each in a room of its
// own that gets one event, while events keep going to the rooms of
// streams just closed (whose descriptors the next connections reuse) and
// a stayer checks a sequence. No stream gets another's event, the stayer
// misses nothing, every hook comes once and in order, and the broker
// ends with no client, goroutine or descriptor left. Passes. Not
// parallel, for the descriptor count.
func TestRedTeam3ChurnRoomsNeverCross(t *testing.T) {
	needsTakeOver(t)
	var (
		mu     sync.Mutex
		seen   = map[string]string{} // client id: "c" connected, "cd" then gone
		misfit []string
	)
	cfg := sse.Config{Dense: true, HeartbeatInterval: -1,
		OnConnect: func(c *sse.Client) {
			mu.Lock()
			defer mu.Unlock()
			if seen[c.ID()] != "" {
				misfit = append(misfit, "OnConnect twice for "+c.ID())
			}
			seen[c.ID()] = "c"
		},
		OnDisconnect: func(c *sse.Client, why sse.DisconnectReason) {
			mu.Lock()
			defer mu.Unlock()
			if seen[c.ID()] != "c" {
				misfit = append(misfit, fmt.Sprintf("OnDisconnect(%v) for %s after %q", why, c.ID(), seen[c.ID()]))
			}
			if c.Rooms() != nil {
				misfit = append(misfit, "OnDisconnect while still in rooms")
			}
			seen[c.ID()] += "d"
			if why != sse.ReasonClientGone && why != sse.ReasonShutdown {
				misfit = append(misfit, fmt.Sprintf("%s ended with %v", c.ID(), why))
			}
		}}
	b, err := sse.New(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	ts := httptest.NewServer(mux)
	addr := ts.Listener.Addr().String()
	t.Cleanup(ts.Close)
	first := dialRaw(t, addr, "/events/stay")
	first.block(t)
	// An event written: the writers and their poller have started.
	require.NoError(t, b.Publish(ctx, "stay", sse.Event{Data: "warm"}))
	require.Equal(t, "data: warm\n", first.block(t))
	fds := rt3FDs(t)

	var pubs sync.WaitGroup
	const stayEvents, window = 3000, 100
	acks := make(chan struct{}, stayEvents/window)
	stayDone := make(chan struct{})
	pubs.Add(1)
	go func() {
		defer pubs.Done()
		for i := range stayEvents {
			if err := b.Publish(ctx, "stay", sse.Event{Data: strconv.Itoa(i)}); err != nil {
				t.Errorf("publish to stay: %v", err)
				return
			}
			if i%window == window-1 {
				// Paced, so that the stayer keeps up under -race.
				select {
				case <-acks:
				case <-stayDone:
					return
				}
			}
		}
	}()
	go func() {
		defer close(stayDone)
		for i := range stayEvents {
			if got := first.block(t); got != "data: "+strconv.Itoa(i)+"\n" {
				t.Errorf("stayer: event %d is %q", i, got)
				return
			}
			if i%window == window-1 {
				acks <- struct{}{}
			}
		}
	}()

	const workers, rounds = 4, 60
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				room := fmt.Sprintf("w%d-%d", g, i)
				s := openRaw(t, addr, "/events/"+room)
				s.block(t) // the opening block: registered
				if i > 0 {
					// To the room of the stream just closed.
					_ = b.Publish(ctx, fmt.Sprintf("w%d-%d", g, i-1), sse.Event{Data: "stale " + room})
				}
				if err := b.Publish(ctx, room, sse.Event{Data: room}); err != nil {
					t.Errorf("publish: %v", err)
				}
				if got := s.block(t); got != "data: "+room+"\n" {
					t.Errorf("%s got %q", room, got)
				}
				switch i % 3 {
				case 0:
					_ = s.conn.(*net.TCPConn).SetLinger(0)
				case 1:
					_, _ = io.WriteString(s.conn, "x")
				}
				_ = s.conn.Close()
			}
		}()
	}
	wg.Wait()
	pubs.Wait()
	select {
	case <-stayDone:
	case <-time.After(ssetest.Timeout):
		t.Fatal("the stayer did not get its events")
	}
	ssetest.Wait(t, "the churned streams to end", func() bool { return b.Stats().Clients == 1 })
	deadline := time.Now().Add(ssetest.Timeout)
	for rt3FDs(t) > fds+1 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := rt3FDs(t); n > fds+1 {
		out, _ := exec.Command("sh", "-c", fmt.Sprintf("ls -l /proc/%d/fd; ss -tanpe | grep pid=%d", os.Getpid(), os.Getpid())).CombinedOutput()
		t.Fatalf("descriptors: %d before the churn, %d after:\n%s", fds, n, out)
	}
	require.NoError(t, b.Shutdown(ctx))
	first.ended(t)
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, misfit)
	assert.Len(t, seen, workers*rounds+1)
	for id, s := range seen {
		assert.Equal(t, "cd", s, id)
	}
	st := b.Stats()
	assert.Equal(t, 0, st.Clients)
	assert.GreaterOrEqual(t, st.Delivered, uint64(stayEvents+workers*rounds))
}

// TestRedTeam3HeadRequest: a HEAD request routed to a stream (a GET
// pattern matches HEAD) must get the response head and no body, as on
// the default path, where net/http eats the body of a HEAD response.
// takeOver used to write the opening block and every event after the
// head (and the default path sent no head at all until the stream
// ended); Add now answers a HEAD request with the headers alone.
func TestRedTeam3HeadRequest(t *testing.T) {
	t.Parallel()
	s := rt3Start(t, sse.Config{HeartbeatInterval: -1})
	conn, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	defer conn.Close()
	head := "HEAD /events/r HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n"
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, &http.Request{Method: http.MethodHead})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.NoError(t, s.b.Publish(ctx, "r", sse.Event{Data: "to a HEAD"}))
	// The connection is framed as HTTP still: the next bytes on it are
	// the answer to the next request, not a stream body.
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)
	resp, err = http.ReadResponse(r, &http.Request{Method: http.MethodHead})
	require.NoError(t, err, "bytes after the head of a HEAD response")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Zero(t, s.b.Stats().Clients)
}

// TestRedTeam3ReplayAndHeartbeat: a dense stream that reconnects with
// Last-Event-ID is replayed exactly what it missed, then live events; an
// idle dense stream gets heartbeats. Passes.
func TestRedTeam3ReplayAndHeartbeat(t *testing.T) {
	t.Parallel()
	s := rt3Start(t, sse.Config{HeartbeatInterval: 30 * time.Millisecond, History: sse.History{Size: 100}})
	first := dialRaw(t, s.addr, "/events/r")
	assert.Contains(t, first.block(t), "id: ")
	for i := 1; i <= 5; i++ {
		require.NoError(t, s.b.Publish(ctx, "r", sse.Event{ID: "e" + strconv.Itoa(i), Data: strconv.Itoa(i)}))
	}
	for i := 1; i <= 2; {
		if got := first.block(t); got != ": heartbeat\n" {
			assert.Equal(t, fmt.Sprintf("id: e%d\ndata: %d\n", i, i), got)
			i++
		}
	}
	_ = first.conn.Close()
	for i := 6; i <= 8; i++ {
		require.NoError(t, s.b.Publish(ctx, "r", sse.Event{ID: "e" + strconv.Itoa(i), Data: strconv.Itoa(i)}))
	}
	again := rt3Dial(t, s.addr, "/events/r", 0, "Last-Event-ID: e2\r\n")
	assert.Contains(t, again.block(t), "retry: ")
	require.NoError(t, s.b.Publish(ctx, "r", sse.Event{ID: "e9", Data: "9"}))
	for i := 3; i <= 9; {
		got := again.block(t)
		if got == ": heartbeat\n" {
			continue
		}
		assert.Equal(t, fmt.Sprintf("id: e%d\ndata: %d\n", i, i), got)
		i++
	}
	// Nothing more is published: heartbeats keep coming.
	for range 2 {
		assert.Equal(t, ": heartbeat\n", again.block(t))
	}
	assert.Equal(t, uint64(6), s.b.Stats().Replayed)
}

// TestRedTeam3HangUpsKeepHooksAndSlots: peers that hang up (close or
// reset) right after sending their request, racing the takeover, leave
// no client, no MaxClients slot taken, and every OnDisconnect after its
// OnConnect, once. Passes.
func TestRedTeam3HangUpsKeepHooksAndSlots(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen = map[*sse.Client]string{}
		bad  []string
	)
	const max = 5
	cfg := sse.Config{HeartbeatInterval: -1, Limits: sse.Limits{MaxClients: max},
		OnConnect: func(c *sse.Client) {
			mu.Lock()
			defer mu.Unlock()
			seen[c] += "c"
		},
		OnDisconnect: func(c *sse.Client, why sse.DisconnectReason) {
			mu.Lock()
			defer mu.Unlock()
			if seen[c] != "c" {
				bad = append(bad, fmt.Sprintf("OnDisconnect(%v) after %q", why, seen[c]))
			}
			if why != sse.ReasonClientGone {
				bad = append(bad, fmt.Sprintf("reason %v", why))
			}
			seen[c] += "d"
		}}
	s := rt3Start(t, cfg)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				conn, err := net.Dial("tcp", s.addr)
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				_, _ = io.WriteString(conn, "GET /events/r HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")
				if (g+i)%2 == 0 {
					_ = conn.(*net.TCPConn).SetLinger(0)
				}
				_ = conn.Close()
			}
		}()
	}
	wg.Wait()
	ssetest.Wait(t, "every hung-up stream to end", func() bool {
		// Every connection accepted and done with: none is still on its
		// way to Add, to take a slot after this.
		if s.accepted.Load() < 4*60 || s.settled.Load() < s.accepted.Load() {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		for _, v := range seen {
			if v != "cd" {
				return false
			}
		}
		return s.b.Stats().Clients == 0
	})
	// Every slot is free again.
	streams := make([]*rawStream, max)
	for i := range streams {
		streams[i] = dialRaw(t, s.addr, "/events/r")
		streams[i].block(t)
	}
	require.NoError(t, s.b.Publish(ctx, "r", sse.Event{Data: "all here"}))
	for _, st := range streams {
		assert.Equal(t, "data: all here\n", st.block(t))
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, bad)
}
