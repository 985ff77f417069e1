package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roomcast/sse/eventsource"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReconnectReplaysMessagesNotClock reconnects after an absence that
// saw a clock tick and a message: the replay is the message alone, as a
// chat user expects, not a tick for every second away (which were kept
// in the history when the clock was published to the rooms).
func TestReconnectReplaysMessagesNotClock(t *testing.T) {
	url := startChat(t)
	a := ssetest.Open(t, nil, url+"/events/lobby", nil)
	require.Equal(t, http.StatusOK, a.Resp.StatusCode)

	postMessage(t, url, "first")
	first := nextMessage(t, a)
	require.Equal(t, "first", first.Data)
	require.NotEmpty(t, first.ID)
	// A tick after "first" (a client's events come in the order they
	// were sent): the absence below has a tick in it.
	for ev := a.Event(t); ev.Type != "time"; ev = a.Event(t) {
	}
	postMessage(t, url, "second")
	second := nextMessage(t, a)
	require.Equal(t, "second", second.Data)
	a.Close()

	b := ssetest.Open(t, nil, url+"/events/lobby", http.Header{"Last-Event-ID": {first.ID}})
	require.Equal(t, http.StatusOK, b.Resp.StatusCode)
	ev := b.Event(t)
	assert.Equal(t, "message", ev.Type, "the first event replayed is the missed message, not the clock (data %q)", ev.Data)
	assert.Equal(t, "second", ev.Data)
	assert.Equal(t, second.ID, ev.ID)
}

func postMessage(t *testing.T, url, msg string) {
	t.Helper()
	resp, err := http.Post(url+"/rooms/lobby", "text/plain", strings.NewReader(msg))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// nextMessage skips clock ticks and returns the next chat message.
func nextMessage(t *testing.T, s *ssetest.Stream) eventsource.Event {
	t.Helper()
	for {
		if ev := s.Event(t); ev.Type == "message" {
			return ev
		}
	}
}
