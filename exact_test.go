package sse_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/exact"
	"github.com/stretchr/testify/require"
)

// TestExactness is issue 11's exactness check in process: 40 lineages in
// overlapping rooms are cut and resumed (some through the lastEventId
// query parameter, some after History.MaxAge) while four goroutines
// publish to random rooms and PublishAll, some with caller ids. Every
// lineage must get the events of its rooms in the one order the observer
// saw, with no duplicate, and no gap but those a resync announces.
// SSE_EXACT_SEED replays a run; SSE_EXACT_LONG=1 or SSE_EXACT_DURATION
// make it longer.
func TestExactness(t *testing.T) {
	t.Parallel()
	const maxAge = 300 * time.Millisecond
	b, err := newSSE(sse.Config{
		History: sse.History{Size: 50, MaxAge: maxAge},
		// The observer must never be dropped as slow: it is the reference.
		Limits: sse.Limits{QueueEvents: 1 << 16, QueueBytes: 64 << 20},
	})
	require.NoError(t, err)
	ts := httptest.NewServer(exact.Handler(b))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Shutdown(ctx)
		ts.Close()
	})
	exact.Run(t, exact.Config{
		Nodes:  []exact.Node{{URL: ts.URL, Broker: b}},
		MaxAge: maxAge,
	})
}
