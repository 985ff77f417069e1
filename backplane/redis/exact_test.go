package redis_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse"
	"github.com/roomcast/sse/backplane/redis"
	"github.com/roomcast/sse/internal/exact"
	"github.com/roomcast/sse/internal/redistest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExactnessCluster is issue 11's exactness check on three brokers
// sharing one redis-server: node 1 reaches Redis through a proxy that
// delays every byte by 30 ms, node 2's subscription is killed at random
// moments, and lineages move between nodes when they reconnect. The
// observer of node 0, which has no fault, defines the order. A node that
// lost messages it cannot recover may send its clients a resync
// mid-stream; from its id on they must get everything. SSE_EXACT_SEED
// replays a run; SSE_EXACT_LONG=1 or SSE_EXACT_DURATION make it longer.
func TestExactnessCluster(t *testing.T) {
	t.Parallel()
	const maxAge = 300 * time.Millisecond
	srv, nodes := startExactCluster(t, maxAge)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = admin.Close() })
	var kills atomic.Int64
	exact.Run(t, exact.Config{
		Nodes:      nodes,
		Reference:  0,
		Duration:   8 * time.Second,
		Publishers: 8,
		MaxAge:     maxAge,
		GapResyncs: true,
		Drain:      10 * time.Second,
		Faults: func(ctx context.Context, rng *rand.Rand) {
			killSubscriptions(ctx, t, admin, "exact-node2", rng, &kills)
		},
	})
	t.Logf("node 2's subscription was killed %d times", kills.Load())
	assert.Positive(t, kills.Load(), "the fault was injected")
}

// startExactCluster starts three brokers on one redis-server, node 1
// reaching it through a proxy that delays every byte by 30 ms.
func startExactCluster(t *testing.T, maxAge time.Duration) (*redistest.Server, []exact.Node) {
	t.Helper()
	srv := redistest.Start(t)
	proxy := exact.NewDelayProxy(t, srv.Addr, 30*time.Millisecond)
	var nodes []exact.Node
	for i := range 3 {
		addr := srv.Addr
		if i == 1 {
			addr = proxy.Addr()
		}
		nodes = append(nodes, startExactNode(t, i, addr, maxAge))
	}
	return srv, nodes
}

// startExactNode starts broker i on its own Redis client, named so that
// its connections can be told apart in CLIENT LIST.
func startExactNode(t *testing.T, i int, addr string, maxAge time.Duration) exact.Node {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, ClientName: fmt.Sprintf("exact-node%d", i), DialTimeout: time.Second})
	bp, err := redis.New(redis.Config{Client: rdb, Prefix: "exact:", MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	require.NoError(t, err)
	b, err := newSSE(sse.Config{
		Backplane: bp,
		History:   sse.History{Size: 50, MaxAge: maxAge},
		// The observers must never be dropped as slow.
		Limits: sse.Limits{QueueEvents: 1 << 16, QueueBytes: 64 << 20},
	})
	require.NoError(t, err)
	ts := httptest.NewServer(exact.Handler(b))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Shutdown(ctx)
		ts.Close()
		_ = rdb.Close()
	})
	return exact.Node{URL: ts.URL, Broker: b}
}

// killSubscriptions kills the pub/sub connections of the client named
// name every 200 to 700 ms until ctx ends (CLIENT KILL by id: TYPE pubsub
// would kill every node's).
func killSubscriptions(ctx context.Context, t *testing.T, admin *goredis.Client, name string, rng *rand.Rand, kills *atomic.Int64) {
	pause := time.NewTimer(0)
	defer pause.Stop()
	for {
		pause.Reset(200*time.Millisecond + time.Duration(rng.Int64N(int64(500*time.Millisecond))))
		select {
		case <-ctx.Done():
			return
		case <-pause.C: // paces the faults; synchronises nothing
		}
		list, err := admin.ClientList(ctx).Result()
		if err != nil {
			if ctx.Err() == nil {
				t.Errorf("CLIENT LIST: %v", err)
			}
			return
		}
		for _, line := range strings.Split(list, "\n") {
			f := clientFields(line)
			if f["name"] != name || !strings.Contains(f["flags"], "P") {
				continue
			}
			if err := admin.ClientKillByFilter(ctx, "ID", f["id"]).Err(); err == nil {
				kills.Add(1)
			}
		}
	}
}

func clientFields(line string) map[string]string {
	f := map[string]string{}
	for _, kv := range strings.Fields(line) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			f[k] = v
		}
	}
	return f
}

// TestExactnessLaggingNode is the same check with a lagging node and no
// lost subscription: with nothing lost, no resync may come mid-stream,
// so every resumption on the slow node must be exact.
func TestExactnessLaggingNode(t *testing.T) {
	t.Parallel()
	const maxAge = 300 * time.Millisecond
	_, nodes := startExactCluster(t, maxAge)
	exact.Run(t, exact.Config{Nodes: nodes, Duration: 6 * time.Second, Publishers: 8, MaxAge: maxAge, Drain: 10 * time.Second})
}
