package sse_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplayWhilePublishing reconnects a client with its Last-Event-ID
// while a publisher keeps going: the events before and after the
// reconnection join with no duplicate and no gap.
func TestReplayWhilePublishing(t *testing.T) {
	t.Parallel()
	// The queue holds the whole burst: this test is about replay, not
	// about dropping readers that fall behind a publisher.
	b, ts := newBroker(t, sse.Config{History: sse.History{Size: 10000}, Limits: sse.Limits{QueueEvents: 10000}})
	ssetest.CheckResume(t, 3000, 100, ts.URL+"/events/r", ts.URL+"/events/r", func(i int) error {
		return b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)})
	})
	assert.GreaterOrEqual(t, b.Stats().Replayed, uint64(1))
}

func TestReplayIDsIncrease(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{History: sse.History{Size: 10}})
	s := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	for range 5 {
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "x"}))
	}
	require.NoError(t, b.Publish(ctx, "r", sse.Event{ID: "mine", Data: "x"}))
	prev := uint64(0)
	for _, ev := range s.Events(t, 5) {
		id, err := strconv.ParseUint(ev.ID, 10, 64)
		require.NoError(t, err)
		assert.Greater(t, id, prev)
		prev = id
	}
	assert.Equal(t, "mine", s.Event(t).ID, "a caller's id is kept")
}

func TestReplayQueryParameterAndUserIDs(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{History: sse.History{Size: 10}})
	for i := range 5 {
		require.NoError(t, b.Publish(ctx, "r", sse.Event{ID: "e" + strconv.Itoa(i), Data: strconv.Itoa(i)}))
	}
	s := ssetest.Open(t, nil, ts.URL+"/events/r?lastEventId=e2", nil)
	assert.Equal(t, []string{"3", "4"}, data(s.Events(t, 2)))
}

func TestReplayAcrossRoomsAndPublishAll(t *testing.T) {
	t.Parallel()
	b, err := newSSE(sse.Config{History: sse.History{Size: 100}})
	require.NoError(t, err)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := b.Add(w, r, "a", "b"); err == nil {
			_ = c.Serve()
		}
	}))
	t.Cleanup(func() { _ = b.Shutdown(ctx); ts.Close() })

	s := ssetest.Open(t, nil, ts.URL, nil)
	require.NoError(t, b.Publish(ctx, "a", sse.Event{Data: "a0"}))
	last := s.Event(t).ID
	s.Close()
	require.NoError(t, b.Publish(ctx, "b", sse.Event{Data: "b1"}))
	require.NoError(t, b.Publish(ctx, "c", sse.Event{Data: "c2"}))
	require.NoError(t, b.PublishAll(ctx, sse.Event{Data: "all3"}))
	require.NoError(t, b.Publish(ctx, "a", sse.Event{Data: "a4"}))

	again := ssetest.Open(t, nil, ts.URL, http.Header{"Last-Event-ID": {last}})
	assert.Equal(t, []string{"b1", "all3", "a4"}, data(again.Events(t, 3)))
}

func TestReplayMiss(t *testing.T) {
	t.Parallel()
	misses := make(chan string, 4)
	cfg := sse.Config{
		History:      sse.History{Size: 3},
		OnReplayMiss: func(_ *sse.Client, id string) { misses <- id },
	}
	b, ts := newBroker(t, cfg)
	s := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	for i := range 10 {
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
	}
	evs := s.Events(t, 10)

	// Still in history: replayed, no miss.
	again := ssetest.Open(t, nil, ts.URL+"/events/r", http.Header{"Last-Event-ID": {evs[8].ID}})
	assert.Equal(t, "9", again.Event(t).Data)

	for _, id := range []string{"no-such-id", evs[1].ID} {
		again := ssetest.Open(t, nil, ts.URL+"/events/r", http.Header{"Last-Event-ID": {id}})
		ev := again.Event(t)
		assert.Equal(t, sse.ResyncEvent, ev.Type)
		assert.JSONEq(t, `{"lastEventId":`+strconv.Quote(id)+`}`, ev.Data)
		assert.Equal(t, id, <-misses)
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "live"}))
		assert.Equal(t, "live", again.Event(t).Data, "after a miss the stream goes on live")
	}
	assert.Equal(t, uint64(2), b.Stats().ReplayMisses)
}
