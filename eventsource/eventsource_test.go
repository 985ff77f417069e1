package eventsource_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/eventsource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBroker reads a Broker's room, is cut off by CloseRoom, reconnects
// and is replayed what it missed, in order, once.
func TestBroker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := sse.New(sse.Config{
		History: sse.History{Size: 100},
		Limits:  sse.Limits{ReconnectDelay: time.Millisecond},
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() { _ = b.Shutdown(ctx); ts.Close() })

	states := newCollector[eventsource.State]()
	opts := fast
	opts.OnState = states.add
	es := open(t, ts.URL+"/events/lobby", opts)
	started, cancel := context.WithCancel(ctx)
	cancel()
	_, err = es.Next(started) // starts it and returns at once
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, eventsource.Connecting, states.wait(t))
	// The broker joins a client to its rooms before it answers.
	require.Equal(t, eventsource.Open, states.wait(t))
	for i := 1; i <= 3; i++ {
		require.NoError(t, b.Publish(ctx, "lobby", sse.Event{Name: "chat", Data: strconv.Itoa(i)}))
	}
	var ids []string
	for i := 1; i <= 3; i++ {
		ev := next(t, es)
		assert.Equal(t, "chat", ev.Type)
		assert.Equal(t, strconv.Itoa(i), ev.Data)
		ids = append(ids, ev.ID)
	}
	require.NoError(t, b.CloseRoom(ctx, "lobby"))
	require.Equal(t, eventsource.Connecting, states.wait(t))
	for i := 4; i <= 6; i++ { // while it reconnects: replayed or live
		require.NoError(t, b.Publish(ctx, "lobby", sse.Event{Name: "chat", Data: strconv.Itoa(i)}))
	}
	for i := 4; i <= 6; i++ {
		ev := next(t, es)
		assert.Equal(t, strconv.Itoa(i), ev.Data)
		ids = append(ids, ev.ID)
	}
	require.Equal(t, eventsource.Open, states.wait(t))
	assert.Len(t, ids, 6)
	assert.Equal(t, ids[5], es.LastEventID())
}
