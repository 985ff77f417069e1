package sse_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/sseread"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

func TestStreamHeadersHTTP1(t *testing.T) {
	t.Parallel()
	_, ts := newBroker(t, sse.Config{})
	s := ssetest.Open(t, nil, ts.URL+"/events/lobby", nil)
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)
	h := s.Resp.Header
	assert.Equal(t, "text/event-stream", h.Get("Content-Type"))
	assert.Equal(t, "no-cache", h.Get("Cache-Control"))
	assert.Equal(t, "no", h.Get("X-Accel-Buffering"))
	assert.Equal(t, "keep-alive", h.Get("Connection"))
	assert.Equal(t, 1, s.Resp.ProtoMajor)
}

func TestStreamOverHTTP2(t *testing.T) {
	t.Parallel()
	b, err := sse.New(sse.Config{})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	ts := httptest.NewUnstartedServer(mux)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(func() { _ = b.Shutdown(ctx); ts.Close() })

	client := ts.Client()
	client.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"h2"}
	s := ssetest.Open(t, client, ts.URL+"/events/lobby", nil)
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)
	require.Equal(t, 2, s.Resp.ProtoMajor, "negotiated %s", s.Resp.Proto)
	assert.Empty(t, s.Resp.Header.Get("Connection"), "HTTP/2 forbids Connection")
	assert.Equal(t, "text/event-stream", s.Resp.Header.Get("Content-Type"))

	// Several streams share one HTTP/2 connection.
	s2 := ssetest.Open(t, client, ts.URL+"/events/lobby", nil)
	require.NoError(t, b.Publish(ctx, "lobby", sse.Event{Name: "hi", Data: "over h2"}))
	for _, st := range []*ssetest.Stream{s, s2} {
		ev := st.Event(t)
		assert.Equal(t, "hi", ev.Type)
		assert.Equal(t, "over h2", ev.Data)
	}
	_ = tls.VersionTLS13
}

func TestAddFromAnyHandler(t *testing.T) {
	t.Parallel()
	b, err := sse.New(sse.Config{})
	require.NoError(t, err)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := b.Add(w, r, strings.Split(r.URL.Query().Get("rooms"), ",")...)
		if err != nil {
			return
		}
		_ = c.Serve()
	}))
	t.Cleanup(func() { _ = b.Shutdown(ctx); ts.Close() })

	s := ssetest.Open(t, nil, ts.URL+"/?rooms=a,b", nil)
	require.NoError(t, b.Publish(ctx, "a", sse.Event{Data: "to a"}))
	require.NoError(t, b.Publish(ctx, "c", sse.Event{Data: "to c"}))
	require.NoError(t, b.Publish(ctx, "b", sse.Event{Data: "to b"}))
	assert.Equal(t, "to a", s.Event(t).Data)
	assert.Equal(t, "to b", s.Event(t).Data)

	bad := ssetest.Open(t, nil, ts.URL+"/?rooms=a,*", nil)
	assert.Equal(t, http.StatusBadRequest, bad.Resp.StatusCode)
}

func TestRoomFromConfig(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{Room: func(r *http.Request) (string, error) {
		room := r.URL.Query().Get("topic")
		if room == "secret" {
			return "", errors.New("forbidden topic")
		}
		return room, nil
	}})
	s := ssetest.Open(t, nil, ts.URL+"/events?topic=news", nil)
	require.NoError(t, b.Publish(ctx, "news", sse.Event{Data: "extra"}))
	assert.Equal(t, "extra", s.Event(t).Data)
	bad := ssetest.Open(t, nil, ts.URL+"/events?topic=secret", nil)
	assert.Equal(t, http.StatusBadRequest, bad.Resp.StatusCode)
}

func TestRooms(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{Limits: sse.Limits{MaxRoomsPerClient: 3}}
	h := newHooks(&cfg)
	b, ts := newBroker(t, cfg)
	s := ssetest.Open(t, nil, ts.URL+"/events/a", nil)
	c := h.client(t)

	assert.True(t, c.In("a"))
	assert.True(t, c.In("*"), `every client is in "*"`)
	assert.False(t, c.In("b"))
	require.NoError(t, c.Join("b"))
	require.NoError(t, c.Join("b"), "joining twice is harmless")
	require.NoError(t, c.Join("c"))
	var lim *sse.LimitError
	require.ErrorAs(t, c.Join("d"), &lim)
	assert.Equal(t, "MaxRoomsPerClient", lim.Limit)
	require.ErrorIs(t, c.Join(""), sse.ErrInvalidRoom)
	require.ErrorIs(t, c.Join("*"), sse.ErrInvalidRoom)
	assert.Equal(t, []string{"a", "b", "c"}, c.Rooms())
	assert.Equal(t, 1, b.RoomSize("b"))
	assert.Equal(t, []string{"a", "b", "c"}, b.Rooms())

	require.NoError(t, b.Publish(ctx, "b", sse.Event{Data: "in b"}))
	assert.Equal(t, "in b", s.Event(t).Data)

	c.Leave("b")
	c.Leave("nowhere")
	assert.False(t, c.In("b"))
	assert.Equal(t, 0, b.RoomSize("b"))
	assert.Equal(t, []string{"a", "c"}, b.Rooms(), "an empty room is freed")
	require.NoError(t, b.Publish(ctx, "b", sse.Event{Data: "not for you"}))
	require.NoError(t, b.Publish(ctx, "c", sse.Event{Data: "in c"}))
	assert.Equal(t, "in c", s.Event(t).Data)

	s.Close()
	h.gone(t)
	assert.Empty(t, b.Rooms(), "a departed client's rooms are freed")
	assert.Equal(t, 0, b.Stats().Clients)
	assert.ErrorIs(t, c.Join("x"), sse.ErrClientGone)
}

func TestPublishAllSendBroadcast(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{}
	h := newHooks(&cfg)
	b, ts := newBroker(t, cfg)
	s1 := ssetest.Open(t, nil, ts.URL+"/events/one", nil)
	c1 := h.client(t)
	s2 := ssetest.Open(t, nil, ts.URL+"/events/two", nil)
	c2 := h.client(t)

	require.NoError(t, b.PublishAll(ctx, sse.Event{Data: "all"}))
	require.NoError(t, b.Publish(ctx, "*", sse.Event{Data: "star"}))
	require.NoError(t, b.Send(ctx, c2, sse.Event{Data: "just two"}))
	require.NoError(t, b.SendTo(ctx, c1.ID(), sse.Event{Data: "just one"}))
	require.ErrorIs(t, b.SendTo(ctx, "nobody", sse.Event{Data: "x"}), sse.ErrClientGone)
	require.NoError(t, b.Broadcast(ctx, func(c *sse.Client) bool { return c.In("two") }, sse.Event{Data: "filtered"}))

	assert.Equal(t, []string{"all", "star", "just one"}, data(s1.Events(t, 3)))
	assert.Equal(t, []string{"all", "star", "just two", "filtered"}, data(s2.Events(t, 4)))
	assert.Same(t, c1, b.Client(c1.ID()))
	st := b.Stats()
	assert.Equal(t, 2, st.Clients)
	assert.Equal(t, uint64(5), st.Published)
}

func onlyEvents(items []sseread.Item) []sseread.Item {
	var out []sseread.Item
	for _, it := range items {
		if it.Kind == sseread.KindEvent {
			out = append(out, it)
		}
	}
	return out
}

func data(items []sseread.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Data
	}
	return out
}

func TestEventsOverTheWire(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{})
	s := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	type point struct{ X, Y int }
	raw := []byte("raw\nbytes")
	events := []struct {
		ev       sse.Event
		typ, dat string
	}{
		{sse.Event{Data: "plain"}, "message", "plain"},
		{sse.Event{Name: "named", Data: "x"}, "named", "x"},
		{sse.Event{Data: "a\nb\r\nc\rd"}, "message", "a\nb\nc\nd"},
		{sse.Event{Data: "trailing\n"}, "message", "trailing\n"},
		{sse.Event{Data: " leading space"}, "message", " leading space"},
		{sse.Event{Data: raw}, "message", "raw\nbytes"},
		{sse.Event{Data: point{1, 2}}, "message", `{"X":1,"Y":2}`},
		{sse.Event{Data: map[string]string{"html": "<b>&"}}, "message", `{"html":"<b>&"}`},
		{sse.Event{Name: "empty"}, "empty", ""},
		{sse.Event{Data: "", ID: "7"}, "message", ""},
	}
	for _, e := range events {
		require.NoError(t, b.Publish(ctx, "r", e.ev))
	}
	for _, e := range events {
		got := s.Event(t)
		assert.Equal(t, e.typ, got.Type)
		assert.Equal(t, e.dat, got.Data)
	}
	assert.Equal(t, "raw\nbytes", string(raw), "the caller's data is not modified")
}

func TestEventEncoding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ev   sse.Event
		want string
	}{
		{"data", sse.Event{Data: "hi"}, "data: hi\n\n"},
		{"all fields", sse.Event{ID: "1", Name: "n", Data: "d", Retry: 1500 * time.Millisecond, Comment: "c"},
			"id: 1\n: c\nretry: 1500\nevent: n\ndata: d\n\n"},
		{"multiline", sse.Event{Data: "a\r\nb\rc\nd"}, "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"comment lines", sse.Event{Comment: "x\ny"}, ": x\n: y\n\n"},
		{"retry rounds up", sse.Event{Retry: time.Microsecond}, "retry: 1\n\n"},
		{"json", sse.Event{Data: []int{1, 2}}, "data: [1,2]\n\n"},
		{"named no data", sse.Event{Name: "ping"}, "event: ping\ndata: \n\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ev.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

func TestInjectionRefused(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{})
	s := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	bad := []sse.Event{
		{Name: "a\nevent: b", Data: "x"},
		{Name: "a\rb", Data: "x"},
		{ID: "1\ndata: injected", Data: "x"},
		{ID: "1\r", Data: "x"},
		{ID: "nul\x00", Data: "x"},
		{Retry: -time.Second},
		{},
		{Data: func() {}},
	}
	for _, ev := range bad {
		err := b.Publish(ctx, "r", ev)
		require.ErrorIs(t, err, sse.ErrInvalidEvent, "%#v", ev)
		var ee *sse.EventError
		require.ErrorAs(t, err, &ee)
		require.ErrorIs(t, ev.Validate(), sse.ErrInvalidEvent)
	}
	_, err := sse.NewEvent("bad\nname", nil)
	require.ErrorIs(t, err, sse.ErrInvalidEvent)
	assert.Panics(t, func() { sse.MustEvent("bad\rname", nil) })
	assert.Equal(t, "ok", sse.MustEvent("ok", 1).Name)

	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "after"}))
	got := s.Event(t)
	assert.Equal(t, "after", got.Data, "nothing of the refused events reached the wire")
	assert.Equal(t, "message", got.Type)
}

func TestRetryAndResetLastEventID(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{Retry: 2500 * time.Millisecond}
	h := newHooks(&cfg)
	b, ts := newBroker(t, cfg)
	s := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	c := h.client(t)
	it := s.Item(t)
	require.Equal(t, sseread.KindRetry, it.Kind)
	assert.Equal(t, int64(2500), it.Retry)

	require.NoError(t, c.SetRetry(10*time.Second))
	it = s.Item(t)
	require.Equal(t, sseread.KindRetry, it.Kind)
	assert.Equal(t, int64(10000), it.Retry)
	require.Error(t, c.SetRetry(0))

	require.NoError(t, b.Publish(ctx, "r", sse.Event{ID: "42", Data: "x"}))
	assert.Equal(t, "42", s.Event(t).LastEventID)
	require.NoError(t, c.ResetLastEventID())
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "y"}))
	assert.Equal(t, "", s.Event(t).LastEventID, "the id was reset")
}

func TestAcceptHeader(t *testing.T) {
	t.Parallel()
	_, strict := newBroker(t, sse.Config{})
	_, lenient := newBroker(t, sse.Config{LenientAccept: true})
	cases := []struct {
		accept         string
		strict, lenien int
	}{
		{"text/event-stream", 200, 200},
		{"text/html, text/event-stream;q=0.5", 200, 200},
		{"application/json", 406, 406},
		{"text/event-stream;q=0", 406, 406},
		{"*/*", 406, 200},
		{"text/*", 406, 200},
		{"", 406, 200},
	}
	for _, tc := range cases {
		for _, srv := range []struct {
			url  string
			want int
		}{{strict.URL, tc.strict}, {lenient.URL, tc.lenien}} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.url+"/events/r", nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			ctx, cancel := context.WithCancel(ctx)
			resp, err := http.DefaultClient.Do(req.WithContext(ctx))
			require.NoError(t, err)
			assert.Equal(t, srv.want, resp.StatusCode, "Accept %q", tc.accept)
			if resp.StatusCode == http.StatusNotAcceptable {
				body, _ := io.ReadAll(resp.Body)
				assert.Contains(t, string(body), "text/event-stream")
			}
			cancel()
			_ = resp.Body.Close()
		}
	}
}

func TestMaxClients(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{Limits: sse.Limits{MaxClients: 2, ReconnectDelay: 3 * time.Second}})
	s1 := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	s2 := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	for range 5 {
		over := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
		require.Equal(t, http.StatusServiceUnavailable, over.Resp.StatusCode)
		secs, err := strconv.Atoi(over.Resp.Header.Get("Retry-After"))
		require.NoError(t, err)
		assert.True(t, secs >= 3 && secs <= 6, "Retry-After %d outside the jitter range", secs)
	}
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "still here"}))
	assert.Equal(t, "still here", s1.Event(t).Data)
	assert.Equal(t, "still here", s2.Event(t).Data)
	assert.Equal(t, uint64(5), b.Stats().Rejected)
}

// TestSlowReaderDoesNotDelayOthers connects one raw TCP client that never
// reads and 100 that do; the publisher never waits, the 100 get every
// event in order and the stalled one is dropped.
func TestSlowReaderDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{Limits: sse.Limits{QueueEvents: 64, WriteTimeout: 2 * time.Second}}
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
	var d disconnect
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

// dialStalled opens a stream over raw TCP with a small receive buffer and
// never reads from it.
func dialStalled(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
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
	rest := onlyEvents(removed.Ended(t))
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

func TestShutdownWaitsForContext(t *testing.T) {
	t.Parallel()
	b, err := sse.New(sse.Config{})
	require.NoError(t, err)
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := b.Add(w, r)
		if err != nil {
			return
		}
		<-release // a handler slow to call Serve
		_ = c.Serve()
	}))
	defer ts.Close()
	s := ssetest.Open(t, nil, ts.URL, nil)
	short, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, b.Shutdown(short), context.Canceled)
	close(release)
	s.Ended(t)
}

func TestStreamOpenBeforeFirstEvent(t *testing.T) {
	t.Parallel()
	_, ts := newBroker(t, sse.Config{HeartbeatInterval: -1})
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET /events/r HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the headers arrive with no event published")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
