package redis_test

// Red-team tests against the delivery guarantees of issue 11 on Redis.
// Each TestRedTeam* reproduces a way in which a client is silently
// skipped past events, sent them twice, or resynced for nothing. They
// fail on the code they were written against.

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
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

// TestRedTeamNoWriteDeadlineBreaksReplay: Limits.WriteTimeout negative
// means "no deadline", but the backplane replay runs under
// context.WithTimeout(ctx, WriteTimeout), a context that is done before
// it starts. Every Replay fails, and every reconnecting client gets a
// resync (and OnError) instead of what it missed.
func TestRedTeamNoWriteDeadlineBreaksReplay(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 100}, Limits: sse.Limits{WriteTimeout: -1}}, 10*time.Millisecond)
	s := ssetest.Open(t, nil, n.url+"/?rooms=r", nil)
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: "seen"}))
	last := s.Event(t).ID
	s.Close()
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: "missed"}))
	again := ssetest.Open(t, nil, n.url+"/?rooms=r", http.Header{"Last-Event-ID": {last}})
	ev := again.Event(t)
	assert.Equal(t, "missed", ev.Data, "a plain resume got %q instead of its replay", ev.Type)
}

// TestRedTeamPositionAfterRedisRestartIsRefused: after Redis restarts
// empty, a node tells its clients of the gap with a resync whose id is
// since-1, the position just before the new dataset, and hands the same
// position to every new stream's opening block. Replay then refuses that
// very position (it is below the dataset's first), so a client resumes
// from the resync it was just given, or a stream opened after the
// restart resumes, only to be resynced again, however little it missed.
func TestRedTeamPositionAfterRedisRestartIsRefused(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 100}}, 10*time.Millisecond)
	s := ssetest.Open(t, nil, n.url+"/?rooms=r", nil)
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: "before"}))
	require.Equal(t, "before", s.Event(t).Data)
	srv.Restart()
	gap := s.Event(t)
	require.Equal(t, sse.ResyncEvent, gap.Type, "Redis lost its data: a resync")
	require.NotEmpty(t, gap.ID)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer admin.Close()
	since, err := admin.Get(ctx, "trust:"+t.Name()+":since").Uint64()
	require.NoError(t, err)
	require.Equal(t, strconv.FormatUint(since-1, 10), gap.ID, "the resync's position is the one before the new dataset's first")
	opening := ssetest.OpeningPosition(t, n.url+"/?rooms=r")
	assert.Equal(t, gap.ID, opening, "a stream opened now starts where the resync put the others")

	// Publish once Redis answers again (the pool may hold dead
	// connections at first).
	deadline := time.Now().Add(ssetest.Timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n.b.Publish(ctx, "r", sse.Event{Data: "after"}) != nil {
		require.True(t, time.Now().Before(deadline), "publishing did not recover")
		<-tick.C
	}
	require.Equal(t, "after", s.Event(t).Data)
	s.Close()

	for name, id := range map[string]string{"from the resync": gap.ID, "from the opening block": opening} {
		again := ssetest.Open(t, nil, n.url+"/?rooms=r", http.Header{"Last-Event-ID": {id}})
		ev := again.Event(t)
		assert.Equal(t, "after", ev.Data, "resuming %s (id %s), a position this node handed out, got %q", name, id, ev.Type)
		again.Close()
	}
}

// TestRedTeamMixedHistories: nodes whose History differs break each
// other's promises: a shorter MaxAge, set by each of its publishes,
// expires the streams a longer one replays from, trim record and all; a
// node without History publishes room events unkept and without a
// position, which clients of the other nodes never get in a replay. So a
// node whose History differs from the first node's on the same prefix is
// refused by New, with an error that says how to fix it.
func TestRedTeamMixedHistories(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	startTrustNode(t, srv.Addr, "first", sse.Config{History: sse.History{Size: 100, MaxAge: time.Hour}}, 10*time.Millisecond)
	for _, h := range []sse.History{{Size: 100, MaxAge: 200 * time.Millisecond}, {}, {Size: 10, MaxAge: time.Hour}} {
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
		bp, err := redis.New(redis.Config{Client: rdb, Prefix: "trust:" + t.Name() + ":"})
		require.NoError(t, err)
		_, err = newSSE(sse.Config{Backplane: bp, History: h})
		require.ErrorContains(t, err, "differs from the one the other nodes", "History %+v", h)
		_ = rdb.Close()
	}
	// The same History joins.
	startTrustNode(t, srv.Addr, "second", sse.Config{History: sse.History{Size: 100, MaxAge: time.Hour}}, 10*time.Millisecond)
}

// TestRedTeamQuietClusterBlipResyncsEveryone: with MaxAge, a cluster
// that published nothing kept for MaxAge, then loses a node's
// subscription for a moment, resyncs every client of that node: the
// recovery cannot tell whether streams expired meanwhile and tells
// everybody of a gap, though nothing at all was published. (In the
// README's configuration, MaxAge one hour: any blip after a quiet hour.)
func TestRedTeamQuietClusterBlipResyncsEveryone(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	const maxAge = 100 * time.Millisecond
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 100, MaxAge: maxAge}}, 10*time.Millisecond)
	s := ssetest.Open(t, nil, n.url+"/?rooms=r", nil)
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: "seen"}))
	require.Equal(t, "seen", s.Event(t).Data)

	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer admin.Close()
	key := "trust:" + t.Name() + ":room:r"
	// Quiet for MaxAge: the stream expires, as it should.
	ssetest.Wait(t, "the room's stream to expire", func() bool { return admin.Exists(ctx, key).Val() == 0 })
	require.NoError(t, killPubSub(admin, "n"))
	// Once the subscription is back, a live event goes through.
	ssetest.Wait(t, "the subscription to come back", func() bool {
		return admin.PubSubNumSub(ctx, "trust:"+t.Name()+":events").Val()["trust:"+t.Name()+":events"] > 0
	})
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: "live"}))
	ev := s.Event(t)
	assert.Equal(t, "live", ev.Data, "nothing was published while the subscription was down, yet the client got %q", ev.Type)
}

// TestRedTeamReplayPipelineIsNotAtomic: Replay reads each room's stream
// with one XRANGE per room in a pipeline, which Redis does not run as
// one: publishes from other connections run between the XRANGEs. An
// event published to an early room (already read) just before one to a
// later room (not yet read) is then missing from the replay, while the
// later one is in it; the replay's end, and so the client's floor, is
// past the missing event, and when it arrives live it is dropped as a
// copy. (recoverable has the same shape: a node's bp.high passes an
// event it never delivered.) A big pipeline opens the
// window: a client in 240 rooms with long names makes a pipeline of
// some 200 KB, which Redis reads, and runs, 16 KB at a time; a publisher
// alternates between the first and the last room.
func TestRedTeamReplayPipelineIsNotAtomic(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	n := startTrustNode(t, srv.Addr, "n", sse.Config{
		History: sse.History{Size: 1000000},
		Limits:  sse.Limits{QueueEvents: 100000, QueueBytes: 64 << 20},
	}, 10*time.Millisecond)
	rooms := []string{"a"}
	for i := range 240 {
		rooms = append(rooms, fmt.Sprintf("m%03d-%s", i, strings.Repeat("m", 240)))
	}
	rooms = append(rooms, "z")
	url := n.url + "/?rooms=" + strings.Join(rooms, ",")
	from := ssetest.OpeningPosition(t, url)
	big := "never"

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
			for _, r := range []string{"a", "z"} {
				if err := n.b.Publish(ctx, r, sse.Event{Data: r + "/" + strconv.Itoa(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()

	// Each resume starts from the last event seen, so that replays stay
	// short while every one of them reads all 242 streams.
	next := map[string]int{"a": 0, "z": 0}
	for try := range 40 {
		s := ssetest.Open(t, nil, url, http.Header{"Last-Event-ID": {from}})
		for got := 0; got < 30; got++ {
			ev := s.Event(t)
			require.NotEqual(t, sse.ResyncEvent, ev.Type)
			if ev.Data == big {
				continue
			}
			room, num, ok := strings.Cut(ev.Data, "/")
			require.True(t, ok, ev.Data)
			i, err := strconv.Atoi(num)
			require.NoError(t, err)
			require.Equal(t, next[room], i, "resume %d: room %s's event %d is missing (or duplicated)", try, room, next[room])
			next[room]++
			from = ev.ID
		}
		s.Close()
	}
}
