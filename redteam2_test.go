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
