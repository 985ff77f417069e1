package sse_test

// Second round of red-team tests against the delivery guarantees. Each
// TestRedTeam2* fails on the code it was written against.

import (
	"strconv"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedTeam2CallerTimestampIDAheadTrimmed: a caller's id that is a Unix
// time in nanoseconds a little ahead of the broker's clock was, once its
// event left the history, taken for a position later than the event's
// own, and a resuming client skipped events without a resync. Such ids
// (decimal numbers of 16 digits or more) are refused for kept events.
func TestRedTeam2CallerTimestampIDAheadTrimmed(t *testing.T) {
	t.Parallel()
	b, _, _ := redTeamBroker(t, sse.Config{History: sse.History{Size: 3}})
	stamp := strconv.FormatInt(time.Now().Add(100*time.Millisecond).UnixNano(), 10)
	var ee *sse.EventError
	require.ErrorAs(t, b.Publish(ctx, "r", sse.Event{ID: stamp, Data: "stamped"}), &ee)
	assert.Equal(t, "id", ee.Field)
	require.NoError(t, b.Publish(ctx, "r", sse.Event{ID: "row-" + stamp, Data: "prefixed"}), "another form is fine")
	require.NoError(t, b.Publish(ctx, "r", sse.Event{ID: "1700000000000", Data: "millis"}), "shorter numbers are fine")
	require.NoError(t, b.Broadcast(ctx, nil, sse.Event{ID: stamp, Data: "not kept"}), "events not kept may have any id")
}
