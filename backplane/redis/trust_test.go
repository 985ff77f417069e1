package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse"
	"github.com/roomcast/sse/backplane/redis"
	"github.com/roomcast/sse/internal/exact"
	"github.com/roomcast/sse/internal/redistest"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests for the points of issue 11 on Redis; TestExactnessCluster
// attacks them all at once.

// trustNode is a broker on Redis serving GET /?rooms=a,b (the rooms
// exact.Handler reads), with its Redis client for faults.
type trustNode struct {
	b   *sse.Broker
	url string
	rdb *goredis.Client
}

func startTrustNode(t *testing.T, addr, name string, cfg sse.Config, minBackoff time.Duration) *trustNode {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, ClientName: name, DialTimeout: time.Second})
	bp, err := redis.New(redis.Config{Client: rdb, Prefix: "trust:" + t.Name() + ":", MinBackoff: minBackoff, MaxBackoff: 2 * minBackoff})
	require.NoError(t, err)
	cfg.Backplane = bp
	b, err := newSSE(cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(exact.Handler(b))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = b.Shutdown(sctx)
		ts.Close()
		_ = rdb.Close()
	})
	return &trustNode{b: b, url: ts.URL, rdb: rdb}
}

// TestMovesToALaggingNode moves a client in two rooms back and forth
// between a node and one whose Redis link lags 30 ms, while both publish
// to both rooms and to everyone: nothing the client had is sent again,
// nothing is lost, and ids only increase (issue 11, point 3: held live
// events at or before the client's position were re-sent, and ids of two
// rooms' streams compared as if they were one sequence).
func TestMovesToALaggingNode(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	proxy := exact.NewDelayProxy(t, srv.Addr, 30*time.Millisecond)
	cfg := sse.Config{History: sse.History{Size: 10000}, Limits: sse.Limits{QueueEvents: 10000}}
	fast := startTrustNode(t, srv.Addr, "fast", cfg, 10*time.Millisecond)
	slow := startTrustNode(t, proxy.Addr(), "slow", cfg, 10*time.Millisecond)
	nodes := []*trustNode{fast, slow}
	ssetest.CheckOrder(t, []string{fast.url + "/?rooms=a,b", slow.url + "/?rooms=a,b"}, 3, 300, 61, func(p int, data string) error {
		n := nodes[p%2]
		switch p {
		case 0:
			return n.b.Publish(ctx, "a", sse.Event{Data: data})
		case 1:
			return n.b.Publish(ctx, "b", sse.Event{Data: data})
		}
		return n.b.PublishAll(ctx, sse.Event{Data: data})
	})
}

// TestQuietRoomExpires lets a room stay quiet until its stream expires
// with MaxAge, while another room of the client stays busy: a client that
// missed the quiet room's last event and resumes from the busy room's id
// is resynced, never silently skipped past it (issue 11, point 4a).
func TestQuietRoomExpires(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	const maxAge = 200 * time.Millisecond
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 100, MaxAge: maxAge}}, 10*time.Millisecond)
	s := ssetest.Open(t, nil, n.url+"/?rooms=quiet,busy", nil)
	require.NoError(t, n.b.Publish(ctx, "busy", sse.Event{Data: "seen"}))
	last := s.Event(t).ID
	s.Close()
	require.NoError(t, n.b.Publish(ctx, "quiet", sse.Event{Data: "missed"}))
	// The busy room goes on; the quiet one expires, trim record and all.
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer admin.Close()
	quiet := "trust:" + t.Name() + ":room:quiet"
	ssetest.Wait(t, "the quiet room's stream to expire", func() bool {
		require.NoError(t, n.b.Publish(ctx, "busy", sse.Event{Data: "busy"}))
		return admin.Exists(ctx, quiet).Val() == 0
	})
	again := ssetest.Open(t, nil, n.url+"/?rooms=quiet,busy", http.Header{"Last-Event-ID": {last}})
	ev := again.Event(t)
	assert.Equal(t, sse.ResyncEvent, ev.Type, "the quiet room's missed event is gone: resync, not a silent gap")
	require.NotEmpty(t, ev.ID, "the resync carries the client's new position")
}

// startCutPair starts a redis-server and two nodes keeping 10 events: pub
// publishes, and cut, whose subscription the test kills, comes back only
// after a second (a long backoff keeps it down while a burst goes).
func startCutPair(t *testing.T) (srv *redistest.Server, pub, cut *trustNode) {
	t.Helper()
	srv = redistest.Start(t)
	cfg := sse.Config{History: sse.History{Size: 10}, Limits: sse.Limits{QueueEvents: 10000}}
	pub = startTrustNode(t, srv.Addr, "pub", cfg, 10*time.Millisecond)
	cut = startTrustNode(t, srv.Addr, "cut", cfg, time.Second)
	return srv, pub, cut
}

// TestSubscriptionCutWhileTrimmed cuts a node's subscription while 200
// events are published with History.Size 10: its client is told to
// resync where the node lost events, then gets everything after that
// position exactly (issue 11, point 4b: it got 20 of 210 events and no
// resync).
func TestSubscriptionCutWhileTrimmed(t *testing.T) {
	t.Parallel()
	srv, pub, cut := startCutPair(t)
	s := ssetest.Open(t, nil, cut.url+"/?rooms=r", nil)
	publish := func(i int) { require.NoError(t, pub.b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)})) }
	for i := range 10 {
		publish(i)
	}
	for i := range 10 {
		require.Equal(t, strconv.Itoa(i), s.Event(t).Data)
	}
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer admin.Close()
	require.NoError(t, killPubSub(admin, "cut"))
	for i := 10; i < 210; i++ {
		publish(i)
	}
	ev := s.Event(t)
	require.Equal(t, sse.ResyncEvent, ev.Type, "events were trimmed while the node was cut off: resync, not a silent gap")
	pos, err := strconv.ParseUint(ev.ID, 10, 64)
	require.NoError(t, err, "the resync carries a position")
	// From the resync on: the kept tail, in order, then live.
	publish(210)
	next := -1
	for next != 210 {
		ev := s.Event(t)
		id, err := strconv.ParseUint(ev.ID, 10, 64)
		require.NoError(t, err)
		require.Greater(t, id, pos)
		pos = id
		n, err := strconv.Atoi(ev.Data)
		require.NoError(t, err)
		if next >= 0 {
			require.Equal(t, next, n, "everything after the resync, in order")
		}
		require.GreaterOrEqual(t, n, 200, "the 10 kept events (200-209) come after the resync")
		next = n + 1
		if n == 210 {
			break
		}
	}
}

// killPubSub kills the subscription of the client named name.
func killPubSub(admin *goredis.Client, name string) error {
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		return err
	}
	for _, line := range strings.Split(list, "\n") {
		f := clientFields(line)
		if f["name"] == name && strings.Contains(f["flags"], "P") {
			return admin.ClientKillByFilter(ctx, "ID", f["id"]).Err()
		}
	}
	return fmt.Errorf("no subscription of %q", name)
}

// TestResyncFirstOnRedis reconnects clients with an unknown id while
// events flow: the resync is always the first event (issue 11, point 7).
func TestResyncFirstOnRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 100}}, 10*time.Millisecond)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := n.b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 30 {
		s := ssetest.Open(t, nil, n.url+"/?rooms=r", http.Header{"Last-Event-ID": {"unknown"}})
		assert.Equal(t, sse.ResyncEvent, s.Event(t).Type, "resync comes before any live event")
		s.Close()
	}
	close(stop)
	<-done
}

// TestPositionFromFirstByteOnRedis drops a client before any event
// reached it, then resumes it on another node from the position of its
// opening block (issue 11, point 9).
func TestPositionFromFirstByteOnRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := sse.Config{History: sse.History{Size: 100}}
	a := startTrustNode(t, srv.Addr, "a", cfg, 10*time.Millisecond)
	b := startTrustNode(t, srv.Addr, "b", cfg, 10*time.Millisecond)
	// Once "before" has reached node a, a new client there starts after it.
	seen := ssetest.Open(t, nil, a.url+"/?rooms=r", nil)
	require.NoError(t, a.b.Publish(ctx, "r", sse.Event{Data: "before"}))
	require.Equal(t, "before", seen.Event(t).Data)
	pos := ssetest.OpeningPosition(t, a.url+"/?rooms=r")
	for i := range 3 {
		require.NoError(t, b.b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
	}
	s := ssetest.Open(t, nil, b.url+"/?rooms=r", http.Header{"Last-Event-ID": {pos}})
	got := s.Events(t, 3)
	assert.Equal(t, []string{"0", "1", "2"}, []string{got[0].Data, got[1].Data, got[2].Data})
}

// TestPublishDuringAStall publishes while Redis holds every write: the
// call returns when its context ends, with an error that says the event
// may have been published, and indeed it arrives once Redis goes on. A
// publish whose context is already done is not sent at all (issue 11,
// point 10: it blocked 3 s despite a 500 ms context, and its error read
// as "not published" though the event reached every node).
func TestPublishDuringAStall(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 100}}, 10*time.Millisecond)
	s := ssetest.Open(t, nil, n.url+"/?rooms=r", nil)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer admin.Close()

	done, cancel := context.WithCancel(ctx)
	cancel()
	err := n.b.Publish(done, "r", sse.Event{Data: "never"})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, errors.Is(err, sse.ErrUncertain), "a publish that was not sent says so")

	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: "before"}))
	assert.Equal(t, "before", s.Event(t).Data)

	const pause = 5 * time.Second
	require.NoError(t, admin.Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "WRITE").Err())
	start := time.Now()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = n.b.Publish(short, "r", sse.Event{Data: "maybe"})
	elapsed := time.Since(start)
	require.ErrorIs(t, err, sse.ErrUncertain)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, elapsed, pause, "Publish returned while Redis was still stalled")
	require.NoError(t, admin.Do(ctx, "CLIENT", "UNPAUSE").Err())
	assert.Equal(t, "maybe", s.Event(t).Data, "an uncertain publish may well have been published")
}

// TestGapBeforeOtherRoomsRecovered cuts off a node whose client is in
// two rooms while one room is trimmed past an event of the other: the
// gap's position (where the trimmed room is whole again) is later than
// the other room's recovered event, and the resync must still come
// first, not after an event published after the one it excuses.
func TestGapBeforeOtherRoomsRecovered(t *testing.T) {
	t.Parallel()
	srv, pub, cut := startCutPair(t)
	s := ssetest.Open(t, nil, cut.url+"/?rooms=q,r", nil)
	publish := func(room, data string) {
		require.NoError(t, pub.b.Publish(ctx, room, sse.Event{Data: data}))
	}
	publish("r", "r-before")
	require.Equal(t, "r-before", s.Event(t).Data)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer admin.Close()
	require.NoError(t, killPubSub(admin, "cut"))
	publish("r", "r-lost") // trimmed by the burst below
	publish("q", "q-kept") // after r-lost, before r's trim point
	for i := range 30 {
		publish("r", "r"+strconv.Itoa(i))
	}
	ev := s.Event(t)
	require.Equal(t, sse.ResyncEvent, ev.Type, "the first thing after the cut is the resync that covers r-lost, got %q", ev.Data)
}
