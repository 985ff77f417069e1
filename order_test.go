package sse_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// multiRoomServer serves every request in rooms a and b (and PublishAll).
func multiRoomServer(t *testing.T, cfg sse.Config) (*sse.Broker, *httptest.Server) {
	t.Helper()
	b, err := newSSE(cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := b.Add(w, r, "a", "b"); err == nil {
			_ = c.Serve()
		}
	}))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = b.Shutdown(sctx)
		ts.Close()
	})
	return b, ts
}

// TestOrderAcrossRooms publishes to two rooms and to everyone from three
// goroutines at once, to a client in both rooms that hangs up again and
// again and resumes with the id of the last event it got. Ids must only
// increase on the stream, and the pieces must add up to every event once
// (issue 11, point 2: each publish used to hold only its room's lock
// while taking a broker-wide id, so ids arrived out of order and a
// client cut between two resumed past an event it never had).
func TestOrderAcrossRooms(t *testing.T) {
	t.Parallel()
	b, ts := multiRoomServer(t, sse.Config{History: sse.History{Size: 10000}, Limits: sse.Limits{QueueEvents: 10000}})
	ssetest.CheckOrder(t, []string{ts.URL}, 3, 600, 97, func(p int, data string) error {
		switch p {
		case 0:
			return b.Publish(ctx, "a", sse.Event{Data: data})
		case 1:
			return b.Publish(ctx, "b", sse.Event{Data: data})
		}
		return b.PublishAll(ctx, sse.Event{Data: data})
	})
}

// TestIDsAboveAPredecessors runs a fast burst, then starts another broker
// at once: its positions begin above every one the first handed out, so
// a client carrying one of them is resynced rather than replayed from
// the wrong place (issue 11, point 8: the sequence was seeded from the
// clock in microseconds and ran ahead of it in a burst).
func TestIDsAboveAPredecessors(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{History: sse.History{Size: 10}, HeartbeatInterval: -1}
	first, ts1 := newBroker(t, cfg)
	// Far more than one publish per microsecond.
	for i := range 100000 {
		require.NoError(t, first.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
	}
	// A new client's opening block carries the newest position.
	block, _ := rawOpening(t, ts1.URL+"/events/r")
	last, err := strconv.ParseUint(blockID(block), 10, 64)
	require.NoError(t, err, "opening block %q", block)
	require.NoError(t, first.Shutdown(ctx))

	second, ts2 := newBroker(t, cfg)
	block, _ = rawOpening(t, ts2.URL+"/events/r")
	start, err := strconv.ParseUint(blockID(block), 10, 64)
	require.NoError(t, err, "opening block %q", block)
	assert.Greater(t, start, last, "a later broker starts above its predecessor")

	require.NoError(t, second.Publish(ctx, "r", sse.Event{Data: "new"}))
	s := ssetest.Open(t, nil, ts2.URL+"/events/r", http.Header{"Last-Event-ID": {strconv.FormatUint(last, 10)}})
	assert.Equal(t, sse.ResyncEvent, s.Event(t).Type, "an id of another process is not replayed from")
}

// TestPositionFromFirstByte drops a client before any event reached it:
// the opening block gave it a position, so it resumes exactly (issue 11,
// point 9).
func TestPositionFromFirstByte(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{History: sse.History{Size: 100}})
	block, resp := rawOpening(t, ts.URL+"/events/r")
	assert.Regexp(t, `^retry: \d+\nid: \d+\n\n$`, block, "one data-less block: the retry hint and the position")
	_ = resp.Body.Close()
	for i := range 3 {
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
	}
	s := ssetest.Open(t, nil, ts.URL+"/events/r", http.Header{"Last-Event-ID": {blockID(block)}})
	assert.Equal(t, []string{"0", "1", "2"}, data(s.Events(t, 3)))

	// A resuming client gets no new position in its opening block, and a
	// stream without history none at all.
	block, _ = rawOpening(t, ts.URL+"/events/r?lastEventId="+blockID(block))
	assert.Regexp(t, `^retry: \d+\n\n$`, block)
	_, plain := newBroker(t, sse.Config{})
	block, _ = rawOpening(t, plain.URL+"/events/r")
	assert.Regexp(t, `^retry: \d+\n\n$`, block)
}

// rawOpening reads a stream's bytes up to its first blank line: the
// opening block.
func rawOpening(t *testing.T, url string) (block string, resp *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	br := bufio.NewReader(resp.Body)
	var sb strings.Builder
	for !strings.HasSuffix(sb.String(), "\n\n") {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		sb.WriteString(line)
	}
	return sb.String(), resp
}

// blockID returns the value of a block's id field, or "".
func blockID(block string) string {
	for line := range strings.SplitSeq(block, "\n") {
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			return v
		}
	}
	return ""
}
