package sse_test

// Second round of red-team tests against the delivery guarantees. Each
// TestRedTeam2* fails on the code it was written against.

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedTeam2CallerTimestampIDAheadTrimmed: a caller's id that is a Unix
// time in nanoseconds a little ahead of the broker's clock (a timestamp
// made on another host, say that of the database row the event is about).
// While the event is kept a resume from its id is exact; once Size has
// evicted it, locate finds no event with the id and takes it as a
// position, later than the event's own: the kept events in between are
// skipped, and the evicted ones too, with no resync (evicted is below the
// id, so completeLocked sees nothing missing).
func TestRedTeam2CallerTimestampIDAheadTrimmed(t *testing.T) {
	t.Parallel()
	b, url, _ := redTeamBroker(t, sse.Config{History: sse.History{Size: 3}})
	stamp := time.Now().Add(100 * time.Millisecond).UnixNano()
	s := ssetest.Open(t, nil, url+"/?rooms=r", nil)
	require.NoError(t, b.Publish(ctx, "r", sse.Event{ID: strconv.FormatInt(stamp, 10), Data: "stamped"}))
	ev := s.Event(t)
	require.Equal(t, "stamped", ev.Data)
	last := ev.ID
	s.Close()
	watch := ssetest.Open(t, nil, url+"/?rooms=r", nil)
	var missed []string
	for i := 0; ; i++ {
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
		e := watch.Event(t)
		missed = append(missed, e.Data)
		p, err := strconv.ParseInt(e.ID, 10, 64)
		require.NoError(t, err)
		if p > stamp {
			break
		}
		require.Less(t, i, 1000000)
	}
	require.Greater(t, len(missed), 3, "events before the stamp were evicted")
	again := ssetest.Open(t, nil, url+"/?rooms=r", http.Header{"Last-Event-ID": {last}})
	got := again.Event(t)
	assert.Equal(t, sse.ResyncEvent, got.Type, "the client missed %d events, %d of them evicted; it got %q first, without a resync", len(missed), len(missed)-3, got.Data)
}

// TestRedTeam2ReusedCallerIDOneCopyEvicted: a caller id kept twice is
// ambiguous and resyncs, but once Size evicts the older copy the id is
// found once, and taken for the newer copy's position: a client that saw
// only the older one skips, silently, everything between the two (some
// of it evicted) and the newer copy itself.
func TestRedTeam2ReusedCallerIDOneCopyEvicted(t *testing.T) {
	t.Parallel()
	b, url, _ := redTeamBroker(t, sse.Config{History: sse.History{Size: 3}})
	checkReusedID(t, url, func(ev sse.Event) error { return b.Publish(ctx, "r", ev) })
}

// checkReusedID: the client sees the first event with id "x", then is
// away while m1, m2, m3, a second "x" and m4 are published; its resume
// from "x" must not start at m4.
func checkReusedID(t *testing.T, url string, publish func(sse.Event) error) {
	s := ssetest.Open(t, nil, url+"/?rooms=r", nil)
	require.NoError(t, publish(sse.Event{ID: "x", Data: "first x"}))
	require.Equal(t, "first x", s.Event(t).Data)
	s.Close()
	for _, ev := range []sse.Event{{Data: "m1"}, {Data: "m2"}, {Data: "m3"}, {ID: "x", Data: "second x"}, {Data: "m4"}} {
		require.NoError(t, publish(ev))
	}
	again := ssetest.Open(t, nil, url+"/?rooms=r", http.Header{"Last-Event-ID": {"x"}})
	got := again.Event(t)
	assert.Equal(t, sse.ResyncEvent, got.Type, "the client saw only the first x; it got %q first, skipping m1-m3 and the second x", got.Data)
}
