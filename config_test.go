package sse_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewRefusesInvalidConfig: every Config New cannot use is an error
// wrapping ErrInvalidConfig that names the field, never an EventError.
func TestNewRefusesInvalidConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  sse.Config
		want string
	}{
		{"negative retry", sse.Config{Retry: -1}, "Retry is negative"},
		{"retry without an opening block", sse.Config{Retry: time.Second, OmitOpeningBlock: true}, "OmitOpeningBlock"},
		{"negative max age", sse.Config{History: sse.History{Size: 1, MaxAge: -1}}, "History.MaxAge is negative"},
		{"max age without size", sse.Config{History: sse.History{MaxAge: time.Hour}}, "History.Size is not"},
		{"nil filter", sse.Config{Filters: map[string]func(*sse.Client, string) bool{"f": nil}}, `Filters["f"] is nil`},
		{"content type header", sse.Config{Header: http.Header{"Content-Type": {"text/plain"}}}, "Content-Type"},
	} {
		_, err := newSSE(tc.cfg)
		require.ErrorIs(t, err, sse.ErrInvalidConfig, tc.name)
		assert.False(t, errors.Is(err, sse.ErrInvalidEvent), tc.name)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}

// TestRouteWithoutRoomWildcard mounts the Broker, with the default
// Config.Room, on a route without {room}: a 500 naming the fix, logged
// once, instead of a stream in no room.
func TestRouteWithoutRoomWildcard(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	b, err := newSSE(sse.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /events", b)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() { _ = b.Shutdown(ctx); ts.Close() })
	for range 2 {
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/events", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		assert.Contains(t, string(body), `"GET /events/{room}"`)
		assert.Contains(t, string(body), "Config.Room")
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "no {room} wildcard"), "logged once: %s", logs.String())
}

// TestPublishWithDoneContext: without a Backplane Publish never blocks,
// so a done context only means the event is not published.
func TestPublishWithDoneContext(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{History: sse.History{Size: 10}})
	s := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	done, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, b.Publish(done, "r", sse.Event{Data: "never"}), context.Canceled)
	require.ErrorIs(t, b.PublishAll(done, sse.Event{Data: "never"}), context.Canceled)
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "after"}))
	assert.Equal(t, "after", s.Event(t).Data, "nothing of the cancelled publishes reached the stream")
	assert.Equal(t, uint64(1), b.Stats().Published)
}

// TestServeNormalEnd: Serve returns nil when the client goes, is removed
// or the broker shuts down, so that a handler logs only real trouble.
func TestServeNormalEnd(t *testing.T) {
	t.Parallel()
	b, err := newSSE(sse.Config{})
	require.NoError(t, err)
	served := make(chan error, 8)
	clients := make(chan *sse.Client, 8)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := b.Add(w, r, "r")
		if err != nil {
			return
		}
		clients <- c
		served <- c.Serve()
	}))
	t.Cleanup(ts.Close)
	gone := ssetest.Open(t, nil, ts.URL, nil)
	<-clients
	gone.Close()
	require.NoError(t, <-served, "the client went away")
	ssetest.Open(t, nil, ts.URL, nil)
	b.Remove(<-clients)
	require.NoError(t, <-served, "removed")
	ssetest.Open(t, nil, ts.URL, nil)
	<-clients
	require.NoError(t, b.Shutdown(ctx))
	require.NoError(t, <-served, "shut down")
}
