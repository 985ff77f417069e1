package sse_test

// Red-team tests against the delivery guarantees of issue 11. Each test
// named TestRedTeam* reproduces a way in which a client is silently
// skipped past events, sent them twice, or told to resync although it
// missed nothing. They fail on the code they were written against.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/exact"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redTeamBroker is a broker behind exact.Handler (GET /?rooms=a,b), with
// hooks to wait for connections.
func redTeamBroker(t *testing.T, cfg sse.Config) (*sse.Broker, string, *hooks) {
	t.Helper()
	h := newHooks(&cfg)
	b, err := newSSE(cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(exact.Handler(b))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Shutdown(sctx)
		ts.Close()
	})
	return b, ts.URL, h
}

// TestRedTeamRepeatedCallerIDSkipsEvents: a caller id that is used twice
// (an entity id updated twice, per-room counters in a client that is in
// two rooms) is located at its NEWEST use, so a client whose last event
// was the OLDER use is silently skipped past everything in between:
// no resync, no replay. The broker cannot tell which use the client
// saw, so the only safe answers are a replay from the older one or a
// resync.
func TestRedTeamRepeatedCallerIDSkipsEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		rooms string
		first sse.Event // what the client saw before it dropped
		later []pub     // published while it was away
	}{
		{
			name:  "same room, entity id reused",
			rooms: "a",
			first: sse.Event{ID: "user-42", Data: "user-42 v1"},
			later: []pub{{"a", sse.Event{ID: "user-7", Data: "user-7 v1"}}, {"a", sse.Event{ID: "user-42", Data: "user-42 v2"}}},
		},
		{
			name:  "per-room counters, client in two rooms",
			rooms: "a,b",
			first: sse.Event{ID: "1", Data: "a#1"},
			later: []pub{{"a", sse.Event{ID: "2", Data: "a#2"}}, {"b", sse.Event{ID: "1", Data: "b#1"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, url, h := redTeamBroker(t, sse.Config{History: sse.History{Size: 100}, HeartbeatInterval: -1})
			s := ssetest.Open(t, nil, url+"/?rooms="+tc.rooms, nil)
			h.client(t)
			require.NoError(t, b.Publish(ctx, "a", tc.first))
			ev := s.Event(t)
			require.Equal(t, tc.first.ID, ev.ID)
			s.Close()
			h.gone(t)
			var want []string
			for _, p := range tc.later {
				require.NoError(t, b.Publish(ctx, p.room, p.ev))
				want = append(want, p.ev.Data.(string))
			}
			require.NoError(t, b.PublishAll(ctx, sse.Event{Data: "fence"}))
			want = append(want, "fence")

			again := ssetest.Open(t, nil, url+"/?rooms="+tc.rooms, http.Header{"Last-Event-ID": {ev.ID}})
			var got []string
			for {
				ev := again.Event(t)
				if ev.Type == sse.ResyncEvent {
					return // a resync is an honest answer
				}
				got = append(got, ev.Data)
				if ev.Data == "fence" {
					break
				}
			}
			assert.Equal(t, want, got, "the client missed these events and was neither replayed them nor told to resync")
		})
	}
}

type pub struct {
	room string
	ev   sse.Event
}

// TestRedTeamSpuriousResyncAfterUnrelatedRoomFreed: with MaxAge, a
// client alone in a quiet room (nothing was ever published to it) drops
// and comes back. Meanwhile an unrelated room's history aged out and
// that room was freed. The client's room was freed too when it left
// (no member, no history) and is recreated; the broker-wide "freed"
// watermark of the other room then makes every resume into it a miss:
// a resync (and OnReplayMiss) although nothing was missed. In a busy
// broker with MaxAge (the README's example sets one hour) that is
// nearly every reconnection to a quiet room.
func TestRedTeamSpuriousResyncAfterUnrelatedRoomFreed(t *testing.T) {
	t.Parallel()
	const maxAge = 50 * time.Millisecond
	b, url, h := redTeamBroker(t, sse.Config{History: sse.History{Size: 100, MaxAge: maxAge}, HeartbeatInterval: -1})
	pos := ssetest.OpeningPosition(t, url+"/?rooms=quiet")
	h.client(t)
	h.gone(t)
	require.NotContains(t, b.Rooms(), "quiet", "the quiet room is freed once its only member left")

	// An unrelated room, never joined by this client, ages out.
	require.NoError(t, b.Publish(ctx, "other", sse.Event{Data: "elsewhere"}))
	ssetest.Wait(t, "the other room to age out and be freed", func() bool {
		for _, r := range b.Rooms() {
			if r == "other" {
				return false
			}
		}
		return true
	})

	again := ssetest.Open(t, nil, url+"/?rooms=quiet", http.Header{"Last-Event-ID": {pos}})
	h.client(t)
	require.NoError(t, b.Publish(ctx, "quiet", sse.Event{Data: "live"}))
	ev := again.Event(t)
	assert.Equal(t, "live", ev.Data, "nothing was ever published to the client's room, yet it got %q", ev.Type)
}
