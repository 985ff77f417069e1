package sse_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memHub is an in-memory Backplane shared by several brokers in one
// process: a reference for what backplane/redis does over Redis.
type memHub struct {
	mu      sync.Mutex
	nodes   []*memNode
	seq     uint64
	kept    map[string][]sse.Message // by room, "*" for KindAll
	evicted map[string]uint64        // by room, the newest position trimmed
	down    bool
	size    int
}

type memNode struct {
	hub     *memHub
	deliver func(sse.Message)
	ch      chan sse.Message
	done    chan struct{}
	once    sync.Once
}

var _ sse.Backplane = (*memNode)(nil)

func newMemHub() *memHub {
	return &memHub{kept: map[string][]sse.Message{}, evicted: map[string]uint64{}, seq: 1000}
}

func (h *memHub) node() *memNode {
	return &memNode{hub: h, ch: make(chan sse.Message, 1<<16), done: make(chan struct{})}
}

func (n *memNode) Attach(deliver func(sse.Message), history sse.History) error {
	n.deliver = deliver
	n.hub.mu.Lock()
	n.hub.nodes = append(n.hub.nodes, n)
	n.hub.size = history.Size
	n.ch <- sse.Message{Kind: sse.KindPosition, Seq: n.hub.seq}
	n.hub.mu.Unlock()
	go func() {
		defer close(n.done)
		for m := range n.ch {
			n.deliver(m)
		}
	}()
	return nil
}

func (n *memNode) Publish(_ context.Context, m sse.Message) error {
	h := n.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return errors.New("hub down")
	}
	if m.Keep {
		h.seq++
		m.Seq = h.seq
		key := m.Room
		if m.Kind == sse.KindAll {
			key = "*"
		}
		h.kept[key] = append(h.kept[key], m)
		if len(h.kept[key]) > h.size {
			h.evicted[key] = h.kept[key][0].Seq
			h.kept[key] = h.kept[key][1:]
		}
	}
	for _, node := range h.nodes {
		node.ch <- m
	}
	return nil
}

func (n *memNode) Replay(_ context.Context, rooms []string, lastID string) ([]sse.Message, uint64, error) {
	h := n.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	var from uint64
	for _, r := range rooms {
		for _, m := range h.kept[r] {
			if m.ID == lastID && m.Seq > from {
				from = m.Seq
			}
		}
	}
	if from == 0 {
		p, err := strconv.ParseUint(lastID, 10, 64)
		if err != nil || p > h.seq {
			return nil, 0, sse.ErrReplayMiss
		}
		from = p
	}
	var out []sse.Message
	for _, r := range rooms {
		if h.evicted[r] > from {
			return nil, 0, sse.ErrReplayMiss
		}
		for _, m := range h.kept[r] {
			if m.Seq > from {
				out = append(out, m)
			}
		}
	}
	slices.SortFunc(out, func(a, b sse.Message) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, from, nil
}

func (n *memNode) Close() error {
	n.once.Do(func() {
		h := n.hub
		h.mu.Lock()
		h.nodes = slices.DeleteFunc(h.nodes, func(x *memNode) bool { return x == n })
		h.mu.Unlock()
		close(n.ch)
	})
	<-n.done
	return nil
}

// cluster starts n brokers on one memHub, each with its own server.
func cluster(t *testing.T, n int, cfg sse.Config) (*memHub, []*sse.Broker, []*httptest.Server) {
	t.Helper()
	hub := newMemHub()
	brokers := make([]*sse.Broker, n)
	servers := make([]*httptest.Server, n)
	for i := range n {
		c := cfg
		c.Backplane = hub.node()
		brokers[i], servers[i] = newBroker(t, c)
	}
	return hub, brokers, servers
}

func TestBackplaneFanOutAcrossNodes(t *testing.T) {
	t.Parallel()
	_, nodes, servers := cluster(t, 3, sse.Config{History: sse.History{Size: 100}})
	var streams []*ssetest.Stream
	for _, ts := range servers {
		streams = append(streams, ssetest.Open(t, nil, ts.URL+"/events/r", nil))
	}
	other := ssetest.Open(t, nil, servers[1].URL+"/events/elsewhere", nil)
	const n = 200
	for i := range n {
		require.NoError(t, nodes[i%3].Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
	}
	require.NoError(t, nodes[2].PublishAll(ctx, sse.Event{Data: "all"}))
	for _, s := range streams {
		for i := range n {
			ev := s.Event(t)
			require.Equal(t, strconv.Itoa(i), ev.Data, "publish order, exactly once")
			require.NotEmpty(t, ev.ID)
		}
		assert.Equal(t, "all", s.Event(t).Data)
	}
	assert.Equal(t, "all", other.Event(t).Data, "other rooms see only PublishAll")
}

func TestBackplaneSendFilterCloseRoom(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{Filters: map[string]func(*sse.Client, string) bool{
		"user": func(c *sse.Client, arg string) bool { return c.Request().URL.Query().Get("user") == arg },
	}}
	h := newHooks(&cfg)
	_, nodes, servers := cluster(t, 2, cfg)
	a := ssetest.Open(t, nil, servers[0].URL+"/events/r?user=ann", nil)
	ca := h.client(t)
	b := ssetest.Open(t, nil, servers[1].URL+"/events/r?user=bob", nil)
	h.client(t)

	require.NoError(t, nodes[1].SendTo(ctx, ca.ID(), sse.Event{Data: "to ann from node 1"}))
	require.NoError(t, nodes[0].BroadcastFilter(ctx, "user", "bob", sse.Event{Data: "to bob"}))
	require.Error(t, nodes[0].BroadcastFilter(ctx, "nope", "", sse.Event{Data: "x"}))
	assert.Equal(t, "to ann from node 1", a.Event(t).Data)
	assert.Equal(t, "to bob", b.Event(t).Data)

	require.NoError(t, nodes[0].CloseRoom(ctx, "r"))
	a.Ended(t)
	b.Ended(t)
	assert.Equal(t, sse.ReasonRemoved, h.gone(t).reason)
	assert.Equal(t, sse.ReasonRemoved, h.gone(t).reason)
}

// TestBackplaneReplayOnAnotherNode reconnects a client to another node,
// with Last-Event-ID, while publishing goes on.
func TestBackplaneReplayOnAnotherNode(t *testing.T) {
	t.Parallel()
	_, nodes, servers := cluster(t, 2, sse.Config{History: sse.History{Size: 10000}, Limits: sse.Limits{QueueEvents: 10000}})
	ssetest.CheckResume(t, 2000, 100, servers[0].URL+"/events/r", servers[1].URL+"/events/r", func(i int) error {
		return nodes[i%2].Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)})
	})

	miss := ssetest.Open(t, nil, servers[1].URL+"/events/r", http.Header{"Last-Event-ID": {"unknown"}})
	assert.Equal(t, sse.ResyncEvent, miss.Event(t).Type)
}

func TestBackplaneErrorsAndGaps(t *testing.T) {
	t.Parallel()
	hub, nodes, servers := cluster(t, 2, sse.Config{})
	s := ssetest.Open(t, nil, servers[1].URL+"/events/r", nil)

	hub.mu.Lock()
	hub.down = true
	hub.mu.Unlock()
	err := nodes[0].Publish(ctx, "r", sse.Event{Data: "lost?"})
	require.ErrorContains(t, err, "hub down", "a publish that may not arrive is an error, never a silent loss")
	hub.mu.Lock()
	hub.down = false
	hub.mu.Unlock()

	// A backplane that lost messages says so; clients are told to resync.
	hub.mu.Lock()
	for _, n := range hub.nodes {
		n.ch <- sse.Message{Kind: sse.KindGap}
	}
	hub.mu.Unlock()
	assert.Equal(t, sse.ResyncEvent, s.Event(t).Type)
	require.NoError(t, nodes[0].Publish(ctx, "r", sse.Event{Data: "after"}))
	assert.Equal(t, "after", s.Event(t).Data)
}

func ExampleBackplane() {
	// Each node builds its broker the same way, with a backplane (here
	// backplane/redis); handlers do not change.
	var bp sse.Backplane = newMemHub().node() // e.g. redis.New(redis.Config{Addr: "..."})
	b, err := newSSE(sse.Config{Backplane: bp, History: sse.History{Size: 1000, MaxAge: time.Hour}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Shutdown(context.Background())
	fmt.Println(b.Publish(context.Background(), "news", sse.Event{Data: "to every node"}))
	// Output: <nil>
}
