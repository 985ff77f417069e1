package redis_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse"
	"github.com/roomcast/sse/backplane/redis"
	"github.com/roomcast/sse/internal/redistest"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// node is one broker with its own Redis client and server.
type node struct {
	b  *sse.Broker
	ts *httptest.Server

	mu    sync.Mutex
	conns []net.Conn // every connection accepted, for kill
}

// kill closes every connection the node accepted, taken over or not,
// as a node's death does.
func (n *node) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		_ = c.Close()
	}
}

func startNode(t *testing.T, addr string, cfg sse.Config) *node {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	bp, err := redis.New(redis.Config{Client: rdb, Prefix: "test:" + t.Name() + ":", MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	require.NoError(t, err)
	cfg.Backplane = bp
	b, err := newSSE(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	n := &node{b: b, ts: httptest.NewUnstartedServer(mux)}
	n.ts.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.mu.Lock()
			n.conns = append(n.conns, c)
			n.mu.Unlock()
		}
	}
	n.ts.Start()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = b.Shutdown(sctx)
		n.ts.Close()
		_ = rdb.Close()
	})
	return n
}

func startCluster(t *testing.T, n int, cfg sse.Config) (*redistest.Server, []*node) {
	t.Helper()
	srv := redistest.Start(t)
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = startNode(t, srv.Addr, cfg)
	}
	return srv, nodes
}

func TestThreeNodes(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{
		History: sse.History{Size: 1000, MaxAge: time.Minute},
		Filters: map[string]func(*sse.Client, string) bool{
			"user": func(c *sse.Client, arg string) bool { return c.Request().URL.Query().Get("user") == arg },
		},
		OnConnect: nil,
	}
	connected := make(chan *sse.Client, 8)
	cfg.OnConnect = func(c *sse.Client) { connected <- c }
	_, nodes := startCluster(t, 3, cfg)

	var streams []*ssetest.Stream
	var clients []*sse.Client
	for i, n := range nodes {
		streams = append(streams, ssetest.Open(t, nil, n.ts.URL+"/events/r?user=u"+strconv.Itoa(i), nil))
		clients = append(clients, <-connected)
	}
	other := ssetest.Open(t, nil, nodes[0].ts.URL+"/events/other", nil)
	<-connected

	const total = 300
	for i := range total {
		require.NoError(t, nodes[i%3].b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
	}
	require.NoError(t, nodes[1].b.PublishAll(ctx, sse.Event{Name: "all", Data: "everyone"}))
	require.NoError(t, nodes[0].b.SendTo(ctx, clients[2].ID(), sse.Event{Data: "direct to 2"}))
	require.NoError(t, nodes[2].b.BroadcastFilter(ctx, "user", "u1", sse.Event{Data: "filtered to u1"}))

	for i, s := range streams {
		for n := range total {
			ev := s.Event(t)
			require.Equal(t, strconv.Itoa(n), ev.Data, "node %d: in publish order, once", i)
			require.NotEmpty(t, ev.ID)
		}
		assert.Equal(t, "everyone", s.Event(t).Data)
	}
	assert.Equal(t, "direct to 2", streams[2].Event(t).Data)
	assert.Equal(t, "filtered to u1", streams[1].Event(t).Data)
	assert.Equal(t, "everyone", other.Event(t).Data)

	require.NoError(t, nodes[1].b.CloseRoom(ctx, "r"))
	for _, s := range streams {
		s.Ended(t)
	}
}

// TestReplayOnAnotherNode moves a client from node 0 to node 1 with its
// Last-Event-ID while both keep publishing.
func TestReplayOnAnotherNode(t *testing.T) {
	t.Parallel()
	_, nodes := startCluster(t, 2, sse.Config{History: sse.History{Size: 10000}, Limits: sse.Limits{QueueEvents: 10000}})
	ssetest.CheckResume(t, 1000, 50, nodes[0].ts.URL+"/events/r", nodes[1].ts.URL+"/events/r", func(i int) error {
		return nodes[i%2].b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)})
	})
}

func TestReplayMissWhenTrimmed(t *testing.T) {
	t.Parallel()
	_, nodes := startCluster(t, 2, sse.Config{History: sse.History{Size: 5}})
	s := ssetest.Open(t, nil, nodes[0].ts.URL+"/events/r", nil)
	for i := range 10 {
		require.NoError(t, nodes[0].b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
	}
	evs := s.Events(t, 10)

	kept := ssetest.Open(t, nil, nodes[1].ts.URL+"/events/r", http.Header{"Last-Event-ID": {evs[7].ID}})
	assert.Equal(t, []string{"8", "9"}, []string{kept.Event(t).Data, kept.Event(t).Data})

	for _, id := range []string{evs[2].ID, "1-0", "garbage"} {
		miss := ssetest.Open(t, nil, nodes[1].ts.URL+"/events/r", http.Header{"Last-Event-ID": {id}})
		assert.Equal(t, sse.ResyncEvent, miss.Event(t).Type, "id %q", id)
	}

	// A caller's own ids work too.
	require.NoError(t, nodes[0].b.Publish(ctx, "r", sse.Event{ID: "mine-1", Data: "a"}))
	require.NoError(t, nodes[0].b.Publish(ctx, "r", sse.Event{Data: "b"}))
	own := ssetest.Open(t, nil, nodes[1].ts.URL+"/events/r", http.Header{"Last-Event-ID": {"mine-1"}})
	assert.Equal(t, "b", own.Event(t).Data)
}

// TestRedisRestart kills Redis under two nodes: Publish reports the
// outage, the nodes reconnect by themselves, and every event published
// successfully after it reaches the client once, in order, after at most
// one resync.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	srv, nodes := startCluster(t, 2, sse.Config{History: sse.History{Size: 1000}})
	s := ssetest.Open(t, nil, nodes[1].ts.URL+"/events/r", nil)
	var sent []string
	publish := func(i int) error {
		data := "e" + strconv.Itoa(i)
		err := nodes[i%2].b.Publish(ctx, "r", sse.Event{Data: data})
		if err == nil {
			sent = append(sent, data)
		}
		return err
	}
	for i := range 10 {
		require.NoError(t, publish(i))
	}
	// Delivered before the restart: a Redis that restarts without its
	// data loses what it had not yet delivered, and says so with a
	// resync (TestRedTeamPositionAfterRedisRestartIsRefused).
	for _, want := range sent {
		require.Equal(t, want, s.Event(t).Data)
	}
	sent = sent[:0]
	srv.Restart()
	// The outage is reported to the publisher, never swallowed; the
	// first publishes after the restart may fail until the pool redials.
	i := 10
	deadline := time.Now().Add(ssetest.Timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for ok := 0; ok < 20; i++ {
		require.True(t, time.Now().Before(deadline), "publishing did not recover")
		if err := publish(i); err == nil {
			ok++
		} else {
			<-tick.C
		}
	}
	for _, want := range sent {
		ev := s.Event(t)
		if ev.Type == sse.ResyncEvent {
			ev = s.Event(t)
		}
		require.Equal(t, want, ev.Data)
	}
}

func TestPublishErrorWhenRedisDown(t *testing.T) {
	t.Parallel()
	srv, nodes := startCluster(t, 1, sse.Config{})
	srv.Stop()
	err := nodes[0].b.Publish(ctx, "r", sse.Event{Data: "x"})
	require.Error(t, err, "a publish during an outage is an error, never a silent loss")
	assert.ErrorContains(t, err, "backplane")
}

// TestNodeKilled drops node 0 abruptly; its client reconnects to node 1
// with Last-Event-ID and resumes with nothing lost.
func TestNodeKilled(t *testing.T) {
	t.Parallel()
	_, nodes := startCluster(t, 2, sse.Config{History: sse.History{Size: 1000}})
	s := ssetest.Open(t, nil, nodes[0].ts.URL+"/events/r", nil)
	for i := range 5 {
		require.NoError(t, nodes[1].b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
	}
	evs := s.Events(t, 5)
	nodes[0].kill() // the node dies under its clients
	s.Ended(t)
	for i := 5; i < 10; i++ {
		require.NoError(t, nodes[1].b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
	}
	again := ssetest.Open(t, nil, nodes[1].ts.URL+"/events/r", http.Header{"Last-Event-ID": {evs[4].ID}})
	for i := 5; i < 10; i++ {
		assert.Equal(t, strconv.Itoa(i), again.Event(t).Data)
	}
}

func TestAttachFailsWithoutRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	addr := srv.Addr
	srv.Stop()
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	bp, err := redis.New(redis.Config{Client: rdb})
	require.NoError(t, err)
	_, err = newSSE(sse.Config{Backplane: bp})
	require.Error(t, err)
	_, err = redis.New(redis.Config{})
	require.Error(t, err)
}
