package sse_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/eventsource"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func data(items []eventsource.Event) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Data
	}
	return out
}

// TestFiltersReadRoomsWhileClientsConnect runs a Broadcast filter and a
// named filter that read each client's rooms while clients connect in
// several rooms (issue 11, point 1: register wrote a client's rooms
// without its lock once it was visible, a fatal concurrent map access).
func TestFiltersReadRoomsWhileClientsConnect(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{Filters: map[string]func(*sse.Client, string) bool{
		"in": func(c *sse.Client, room string) bool { return c.In(room) },
	}}
	b, err := newSSE(cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := b.Add(w, r, "a", "b", "c", r.URL.Query().Get("room")); err == nil {
			_ = c.Serve()
		}
	}))
	t.Cleanup(func() { _ = b.Shutdown(ctx); ts.Close() })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = b.Broadcast(ctx, func(c *sse.Client) bool { return c.In("b") && len(c.Rooms()) > 0 }, sse.Event{Data: "x"})
			_ = b.BroadcastFilter(ctx, "in", "c", sse.Event{Data: "y"})
		}
	})
	for i := range 200 {
		// Open returns once the stream has begun: the client was
		// registered while the filters ran.
		s := ssetest.Open(t, nil, ts.URL+"?room=r"+strconv.Itoa(i), nil)
		require.Equal(t, http.StatusOK, s.Resp.StatusCode)
		s.Close()
	}
	close(stop)
	wg.Wait()
}
