package sse_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/sseread"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hostile input: each bad publish or request gets a clear error, and the
// clients already connected see nothing of it.

func TestHostileEventFields(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{})
	bystander := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	longID := strings.Repeat("i", sse.MaxIDLen+1)
	cases := []struct {
		name  string
		ev    sse.Event
		field string // "" when the event is accepted
	}{
		{"CR in id", sse.Event{ID: "a\rb", Data: "x"}, "id"},
		{"LF in id", sse.Event{ID: "a\nb", Data: "x"}, "id"},
		{"NUL in id", sse.Event{ID: "a\x00b", Data: "x"}, "id"},
		// An id must come back byte for byte in a Last-Event-ID header:
		// net/http trims spaces and refuses control bytes (issue 11,
		// point 5).
		{"leading space in id", sse.Event{ID: " a", Data: "x"}, "id"},
		{"trailing space in id", sse.Event{ID: "a ", Data: "x"}, "id"},
		{"tab in id", sse.Event{ID: "a\tb", Data: "x"}, "id"},
		{"trailing tab in id", sse.Event{ID: "a\t", Data: "x"}, "id"},
		{"control byte in id", sse.Event{ID: "a\x01b", Data: "x"}, "id"},
		{"DEL in id", sse.Event{ID: "a\x7fb", Data: "x"}, "id"},
		{"CR in name", sse.Event{Name: "a\rb", Data: "x"}, "name"},
		{"LF in name", sse.Event{Name: "a\ndata: forged", Data: "x"}, "name"},
		{"id over MaxIDLen", sse.Event{ID: longID, Data: "x"}, "id"},
		{"invalid UTF-8 id", sse.Event{ID: "a\xffb", Data: "x"}, "id"},
		{"invalid UTF-8 name", sse.Event{Name: "a\xc3", Data: "x"}, "name"},
		{"invalid UTF-8 string data", sse.Event{Data: "a\xffb"}, "data"},
		{"invalid UTF-8 byte data", sse.Event{Data: []byte{'a', 0xed, 0xa0, 0x80}}, "data"},
		// A NUL in a name is delivered intact by the standard's parser
		// (the name is only compared, never cut), so it is not refused.
		{"NUL in name", sse.Event{Name: "a\x00b", Data: "x"}, ""},
		{"NUL in data", sse.Event{Data: "a\x00b"}, ""},
		{"id of MaxIDLen", sse.Event{ID: longID[1:], Data: "x"}, ""},
	}
	var accepted []sse.Event
	for _, tc := range cases {
		err := b.Publish(ctx, "r", tc.ev)
		if tc.field == "" {
			require.NoError(t, err, tc.name)
			accepted = append(accepted, tc.ev)
			continue
		}
		var ee *sse.EventError
		require.ErrorAs(t, err, &ee, tc.name)
		assert.Equal(t, tc.field, ee.Field, tc.name)
		assert.ErrorIs(t, err, sse.ErrInvalidEvent, tc.name)
		assert.ErrorIs(t, tc.ev.Validate(), sse.ErrInvalidEvent, tc.name)
		_, err = tc.ev.MarshalText()
		assert.ErrorIs(t, err, sse.ErrInvalidEvent, tc.name)
	}
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Name: "end", Data: "end"}))
	for _, want := range accepted {
		got := bystander.Event(t)
		assert.Equal(t, want.Data, got.Data)
		if want.Name != "" {
			assert.Equal(t, want.Name, got.Type)
		}
		assert.Equal(t, want.ID, got.ID)
	}
	assert.Equal(t, "end", bystander.Event(t).Type, "nothing of a refused event reached the wire")
	assert.Equal(t, uint64(len(accepted)+1), b.Stats().Published)
}

// TestHostileLargeEvents sends a 1 MB event, which is delivered intact,
// and one larger than Limits.QueueBytes, which is refused rather than
// dropping every member of the room as slow.
func TestHostileLargeEvents(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{Limits: sse.Limits{QueueBytes: 2 << 20}}
	h := newHooks(&cfg)
	b, ts := newBroker(t, cfg)
	s1 := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	c1 := h.client(t)
	s2 := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	h.client(t)

	mb := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: mb}))
	for _, s := range []*ssetest.Stream{s1, s2} {
		assert.Equal(t, mb, s.Event(t).Data)
	}

	huge := strings.Repeat("x", 2<<20)
	for _, err := range []error{
		b.Publish(ctx, "r", sse.Event{Data: huge}),
		b.PublishAll(ctx, sse.Event{Data: huge}),
		b.Send(ctx, c1, sse.Event{Data: huge}),
		b.Broadcast(ctx, nil, sse.Event{Data: huge}),
	} {
		var lim *sse.LimitError
		require.ErrorAs(t, err, &lim)
		assert.Equal(t, "QueueBytes", lim.Limit)
		assert.Equal(t, 2<<20, lim.Max)
	}
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "after"}))
	for _, s := range []*ssetest.Stream{s1, s2} {
		assert.Equal(t, "after", s.Event(t).Data)
	}
	st := b.Stats()
	assert.Equal(t, 2, st.Clients)
	assert.Zero(t, st.SlowDisconnects)
	assert.Equal(t, uint64(2), st.Published)
}

// TestHostileLargeEventsOnBackplane: an event too big for a queue is
// refused before it travels to the other nodes.
func TestHostileLargeEventsOnBackplane(t *testing.T) {
	t.Parallel()
	_, nodes, servers := cluster(t, 2, sse.Config{Limits: sse.Limits{QueueBytes: 64 << 10}})
	s := ssetest.Open(t, nil, servers[1].URL+"/events/r", nil)
	huge := strings.Repeat("x", 64<<10)
	for _, err := range []error{
		nodes[0].Publish(ctx, "r", sse.Event{Data: huge}),
		nodes[0].PublishAll(ctx, sse.Event{Data: huge}),
	} {
		var lim *sse.LimitError
		require.ErrorAs(t, err, &lim)
		assert.Equal(t, "QueueBytes", lim.Limit)
	}
	require.NoError(t, nodes[0].Publish(ctx, "r", sse.Event{Data: "after"}))
	assert.Equal(t, "after", s.Event(t).Data)
	assert.Zero(t, nodes[1].Stats().SlowDisconnects)
}

// TestHostileManyRooms asks for thousands of rooms for one client: at
// connect and by Join, under the default cap and with none.
func TestHostileManyRooms(t *testing.T) {
	t.Parallel()
	const many = 3000
	names := make([]string, many)
	for i := range names {
		names[i] = "room-" + strconv.Itoa(i)
	}
	newServer := func(t *testing.T, cfg sse.Config) (*sse.Broker, string, *hooks) {
		h := newHooks(&cfg)
		b, err := newSSE(cfg)
		require.NoError(t, err)
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var rooms []string
			if q := r.URL.Query().Get("rooms"); q != "" {
				rooms = strings.Split(q, ",")
			}
			if c, err := b.Add(w, r, rooms...); err == nil {
				_ = c.Serve()
			}
		}))
		t.Cleanup(func() { _ = b.Shutdown(ctx); ts.Close() })
		return b, ts.URL, h
	}

	t.Run("default cap", func(t *testing.T) {
		t.Parallel()
		b, u, h := newServer(t, sse.Config{})
		bystander := ssetest.Open(t, nil, u+"?rooms=room-1", nil)
		h.client(t)
		over := ssetest.Open(t, nil, u+"?rooms="+strings.Join(names, ","), nil)
		assert.Equal(t, http.StatusBadRequest, over.Resp.StatusCode)

		s := ssetest.Open(t, nil, u, nil)
		c := h.client(t)
		var lim *sse.LimitError
		joined := 0
		for _, name := range names {
			if err := c.Join(name); err != nil {
				require.ErrorAs(t, err, &lim)
				break
			}
			joined++
		}
		assert.Equal(t, sse.DefaultMaxRoomsPerClient, joined)
		assert.Equal(t, "MaxRoomsPerClient", lim.Limit)
		require.NoError(t, b.Publish(ctx, "room-1", sse.Event{Data: "one"}))
		assert.Equal(t, "one", s.Event(t).Data, "the client is still served")
		assert.Equal(t, "one", bystander.Event(t).Data)
	})

	t.Run("no cap", func(t *testing.T) {
		t.Parallel()
		b, u, h := newServer(t, sse.Config{Limits: sse.Limits{MaxRoomsPerClient: -1}})
		// Thousands of rooms at connect: the query is ~30 KB, under
		// net/http's 1 MB header limit.
		s := ssetest.Open(t, nil, u+"?rooms="+url.QueryEscape(strings.Join(names, ",")), nil)
		require.Equal(t, http.StatusOK, s.Resp.StatusCode)
		c := h.client(t)
		assert.Len(t, c.Rooms(), many)
		assert.Len(t, b.Rooms(), many)
		for _, name := range []string{"room-0", "room-1500", "room-2999"} {
			require.NoError(t, b.Publish(ctx, name, sse.Event{Data: name}))
			assert.Equal(t, name, s.Event(t).Data)
		}
		s.Close()
		h.gone(t)
		assert.Empty(t, b.Rooms(), "every room is freed when the client goes")
	})
}

// TestHostileRoomNames opens streams on paths with slashes, dots and
// percent-escapes. Each either streams the room its name decodes to, or
// is turned away with a 4xx (or the mux's redirect), and a bystander sees
// only its own room's events.
func TestHostileRoomNames(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{})
	bystander := ssetest.Open(t, nil, ts.URL+"/events/lobby", nil)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		path string
		code int
		room string // the room the stream is in, when code is 200
	}{
		{"a.b", 200, "a.b"},
		{"...", 200, "..."},
		{"a%2Fb", 200, "a/b"},
		{"%2E%2E", 200, ".."},
		{"a%25b", 200, "a%b"},
		{"%2A", 400, ""}, // "*" is reserved
		{"%FF", 400, ""}, // not UTF-8
		{strings.Repeat("n", sse.MaxRoomNameLen+1), 400, ""},
		{"a/b", 404, ""},
		{"..", 300, ""}, // ServeMux redirects to the cleaned path, /
		{"", 500, ""},   // GET /events: a route without {room}
	}
	for _, tc := range cases {
		u := ts.URL + "/events/" + tc.path
		if tc.path == "" {
			u = ts.URL + "/events"
		}
		s := ssetest.Open(t, noRedirect, u, nil)
		code := s.Resp.StatusCode
		if code/100 == 3 {
			code = 300 // whichever redirect ServeMux picks
		}
		require.Equal(t, tc.code, code, "GET %s", tc.path)
		if code != http.StatusOK || tc.room == "" {
			s.Close()
			continue
		}
		require.NoError(t, b.Publish(ctx, tc.room, sse.Event{Data: tc.room}))
		assert.Equal(t, tc.room, s.Event(t).Data, "GET %s", tc.path)
		s.Close()
	}
	require.NoError(t, b.Publish(ctx, "lobby", sse.Event{Data: "lobby"}))
	assert.Equal(t, "lobby", bystander.Event(t).Data, "the bystander got only its room's event")
	assert.True(t, errors.Is(b.Publish(ctx, "\xff", sse.Event{Data: "x"}), sse.ErrInvalidRoom))
}

// TestIDsComeBackExactly publishes ids at the edge of what is accepted
// and resumes from each through a real Last-Event-ID header: each comes
// back byte for byte and replays exactly what followed it.
func TestIDsComeBackExactly(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{History: sse.History{Size: 100}})
	ids := []string{"inner space", "ünïcödé-✓", "a:b;c,d", `"quoted"`, "~!@#$%^&*()"}
	for _, id := range ids {
		require.NoError(t, b.Publish(ctx, "r", sse.Event{ID: id, Data: id}))
	}
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "end"}))
	for i, id := range ids {
		s := ssetest.Open(t, nil, ts.URL+"/events/r", http.Header{"Last-Event-ID": {id}})
		require.Equal(t, http.StatusOK, s.Resp.StatusCode)
		var got []string
		for _, ev := range s.Events(t, len(ids)-i) {
			got = append(got, ev.Data)
		}
		assert.Equal(t, append(slices.Clone(ids[i+1:]), "end"), got, "resumed from %q", id)
	}
}

// TestDeclaredBodyNeverSent opens a stream with a request that declares a
// body and never sends it: the stream opens, events flow, and Shutdown
// returns (issue 11, point 6: net/http read the body before the first
// response bytes, with no deadline, so the stream hung, held its
// MaxClients slot and kept Shutdown waiting).
func TestDeclaredBodyNeverSent(t *testing.T) {
	t.Parallel()
	b, err := newSSE(sse.Config{Limits: sse.Limits{MaxClients: 2}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/events/{room}", b)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	for range 3 {
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "POST /events/r HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nContent-Length: 1000\r\n\r\n")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, "the stream opens without the body")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "flows"}))
		r := sseread.NewReader(resp.Body, 0)
		for {
			it, err := r.Next()
			require.NoError(t, err)
			if it.Kind == sseread.KindEvent {
				require.Equal(t, "flows", it.Data)
				break
			}
		}
		conn.Close() // frees the slot for the next one
		ssetest.Wait(t, "the slot to be freed", func() bool { return b.Stats().Clients == 0 })
	}
	// One more that stays: Shutdown must not wait for its body.
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /events/r HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nContent-Length: 1000\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	_, err = http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	sctx, cancel := context.WithTimeout(ctx, ssetest.Timeout)
	defer cancel()
	require.NoError(t, b.Shutdown(sctx), "Shutdown returns with the body still unsent")
	_, err = io.Copy(io.Discard, conn)
	require.NoError(t, err, "and the connection is closed, not kept waiting for the body")
}
