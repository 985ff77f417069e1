package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/metrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// newBroker starts a broker behind a loopback server at GET /events/{room};
// both stop at the test's end.
func newBroker(t *testing.T) (*sse.Broker, *httptest.Server) {
	t.Helper()
	b, err := sse.New(sse.Config{History: sse.History{Size: 100}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, ssetest.Timeout)
		defer cancel()
		assert.NoError(t, b.Shutdown(sctx))
		ts.Close()
	})
	return b, ts
}

// stalled adds a client whose queue nobody writes out until the test
// ends, so that its depth stays what the test publishes.
func stalled(t *testing.T, b *sse.Broker, room string) *sse.Client {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/events/"+room, nil)
	req.Header.Set("Accept", "text/event-stream")
	c, err := b.Add(httptest.NewRecorder(), req, room)
	require.NoError(t, err)
	t.Cleanup(func() {
		b.Remove(c)
		assert.NoError(t, c.Serve())
	})
	return c
}

func TestNew(t *testing.T) {
	t.Parallel()
	b, _ := newBroker(t)
	tests := []struct {
		name    string
		b       *sse.Broker
		cfg     metrics.Config
		wantErr string
	}{
		{"zero config", b, metrics.Config{}, ""},
		{"no buckets", b, metrics.Config{QueueBuckets: []float64{}}, ""},
		{"nil broker", nil, metrics.Config{}, "nil broker"},
		{"unsorted buckets", b, metrics.Config{QueueBuckets: []float64{1, 4, 2}}, "strictly increasing"},
		{"repeated bucket", b, metrics.Config{QueueBuckets: []float64{1, 1}}, "strictly increasing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := metrics.New(tt.b, tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			problems, err := testutil.CollectAndLint(c)
			require.NoError(t, err)
			assert.Empty(t, problems)
		})
	}
}

func TestCollect(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t)
	reg := prometheus.NewPedanticRegistry() // checks Collect against Describe
	c, err := metrics.New(b, metrics.Config{})
	require.NoError(t, err)
	require.NoError(t, reg.Register(c))

	live := ssetest.Open(t, nil, ts.URL+"/events/lobby", nil)
	require.Equal(t, http.StatusOK, live.Resp.StatusCode)
	stalled(t, b, "lobby")
	for i := range 3 {
		require.NoError(t, b.Publish(ctx, "lobby", sse.Event{Data: i}))
	}
	first := live.Events(t, 3)[0].ID
	ssetest.Wait(t, "3 events delivered", func() bool { return b.Stats().Delivered == 3 })

	// One client is idle, the other 3 events behind.
	want := `
# HELP sse_client_queue_events Events waiting to be written, one observation per connected client at scrape time.
# TYPE sse_client_queue_events histogram
sse_client_queue_events_bucket{le="0"} 1
sse_client_queue_events_bucket{le="1"} 1
sse_client_queue_events_bucket{le="4"} 2
sse_client_queue_events_bucket{le="16"} 2
sse_client_queue_events_bucket{le="64"} 2
sse_client_queue_events_bucket{le="256"} 2
sse_client_queue_events_bucket{le="1024"} 2
sse_client_queue_events_bucket{le="+Inf"} 2
sse_client_queue_events_sum 3
sse_client_queue_events_count 2
# HELP sse_clients Clients connected now.
# TYPE sse_clients gauge
sse_clients 2
# HELP sse_events_delivered_total Events written to a client, one per recipient.
# TYPE sse_events_delivered_total counter
sse_events_delivered_total 3
# HELP sse_events_dropped_total Queued events discarded because their client was dropped or went.
# TYPE sse_events_dropped_total counter
sse_events_dropped_total 0
# HELP sse_events_published_total Events accepted by Publish, PublishAll, Broadcast and Send.
# TYPE sse_events_published_total counter
sse_events_published_total 3
# HELP sse_events_replayed_total Events replayed to clients reconnecting with a Last-Event-ID.
# TYPE sse_events_replayed_total counter
sse_events_replayed_total 0
# HELP sse_rejected_total Requests turned away by Limits.MaxClients.
# TYPE sse_rejected_total counter
sse_rejected_total 0
# HELP sse_replay_misses_total Reconnections whose Last-Event-ID could not be replayed from.
# TYPE sse_replay_misses_total counter
sse_replay_misses_total 0
# HELP sse_rooms Rooms with members or history now.
# TYPE sse_rooms gauge
sse_rooms 1
# HELP sse_slow_disconnects_total Clients dropped because their queue was full.
# TYPE sse_slow_disconnects_total counter
sse_slow_disconnects_total 0
# HELP sse_write_timeouts_total Clients dropped because a write took longer than Limits.WriteTimeout.
# TYPE sse_write_timeouts_total counter
sse_write_timeouts_total 0
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))

	// A reconnection replays the two events after the first, and one that
	// names an unknown id misses.
	again := ssetest.Open(t, nil, ts.URL+"/events/lobby", http.Header{"Last-Event-ID": {first}})
	again.Events(t, 2)
	miss := ssetest.Open(t, nil, ts.URL+"/events/lobby", http.Header{"Last-Event-ID": {"unknown"}})
	assert.Equal(t, sse.ResyncEvent, miss.Event(t).Type)
	want = `
# HELP sse_events_replayed_total Events replayed to clients reconnecting with a Last-Event-ID.
# TYPE sse_events_replayed_total counter
sse_events_replayed_total 2
# HELP sse_replay_misses_total Reconnections whose Last-Event-ID could not be replayed from.
# TYPE sse_replay_misses_total counter
sse_replay_misses_total 1
# HELP sse_clients Clients connected now.
# TYPE sse_clients gauge
sse_clients 4
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"sse_events_replayed_total", "sse_replay_misses_total", "sse_clients"))
}
