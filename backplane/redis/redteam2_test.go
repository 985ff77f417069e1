package redis_test

// Second round of red-team tests against the delivery guarantees on
// Redis. Each TestRedTeam2* fails on the code it was written against.

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// TestRedTeam2CallerIDEqualToGeneratedPosition: a caller's event whose id
// is the very string of an earlier generated event's position makes that
// id ambiguous. In process, locate counts both and resyncs. On Redis,
// resolve sees a generated event at that position and takes it as the
// position without looking for a caller event with the same id: a
// client that saw both events (its Last-Event-ID is the caller's) is sent
// the caller's event again, a duplicate, instead of the next one.
func TestRedTeam2CallerIDEqualToGeneratedPosition(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 100}}, 10*time.Millisecond)
	s := ssetest.Open(t, nil, n.url+"/?rooms=r", nil)
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: "generated"}))
	gen := s.Event(t)
	require.Equal(t, "generated", gen.Data)
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{ID: gen.ID, Data: "caller"}))
	ev := s.Event(t)
	require.Equal(t, "caller", ev.Data)
	require.Equal(t, gen.ID, ev.ID)
	s.Close()
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: "next"}))
	again := ssetest.Open(t, nil, n.url+"/?rooms=r", http.Header{"Last-Event-ID": {ev.ID}})
	got := again.Event(t)
	assert.NotEqual(t, "caller", got.Data, "the client had the event %q (id %s) and is sent it again", "caller", ev.ID)
	if got.Type != sse.ResyncEvent {
		assert.Equal(t, "next", got.Data, "a resume from an ambiguous id: the next event, or a resync as in process")
	}
}

// TestRedTeam2CallerTimestampIDAheadOfRedisTrimmed: a caller's id that is
// a Unix time in microseconds taken on a host whose clock runs a little
// ahead of Redis's. While its event is kept, a resume from it is exact;
// once Size has trimmed it away, resolve finds no event with the id and
// takes the id as a position, one later than the event's own: the kept
// events between the two are skipped, and so are the trimmed ones,
// silently (no resync, though the trim record says events after the
// client's real position are gone).
func TestRedTeam2CallerTimestampIDAheadOfRedisTrimmed(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 3}}, 10*time.Millisecond)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer admin.Close()
	now, err := admin.Time(ctx).Result()
	require.NoError(t, err)
	// The application's clock is 300 ms ahead of Redis's.
	stamp := now.Add(300 * time.Millisecond).UnixMicro()
	s := ssetest.Open(t, nil, n.url+"/?rooms=r", nil)
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{ID: strconv.FormatInt(stamp, 10), Data: "stamped"}))
	ev := s.Event(t)
	require.Equal(t, "stamped", ev.Data)
	last := ev.ID
	s.Close()
	// Events go on while the client is away; the first past the stamp
	// ends the burst, so the stream keeps two events before the stamp
	// and one after, and the stamped event is trimmed.
	watch := ssetest.Open(t, nil, n.url+"/?rooms=r", nil)
	var missed []string
	for i := 0; ; i++ {
		require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(i)}))
		e := watch.Event(t)
		missed = append(missed, e.Data)
		p, err := strconv.ParseInt(e.ID, 10, 64)
		require.NoError(t, err)
		if p > stamp {
			break
		}
		require.Less(t, i, 100000)
	}
	require.Greater(t, len(missed), 3, "events before the stamp were trimmed")
	again := ssetest.Open(t, nil, n.url+"/?rooms=r", http.Header{"Last-Event-ID": {last}})
	got := again.Event(t)
	assert.Equal(t, sse.ResyncEvent, got.Type, "the client missed %d events, %d of them trimmed; it got %q first, without a resync", len(missed), len(missed)-3, got.Data)
}

// replyDropProxy forwards to Redis, and closes the first connection whose
// reply starts with prefix instead of passing that reply on: the command
// ran, its caller never hears so.
type replyDropProxy struct {
	ln      net.Listener
	target  string
	prefix  string
	dropped atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newReplyDropProxy(t *testing.T, target, prefix string) *replyDropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &replyDropProxy{ln: ln, target: target, prefix: prefix}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *replyDropProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { _, _ = io.Copy(s, c); _ = s.Close() })
		p.wg.Go(func() {
			defer c.Close()
			buf := make([]byte, 32<<10)
			for {
				n, err := s.Read(buf)
				if n > 0 {
					if strings.HasPrefix(string(buf[:n]), p.prefix) && p.dropped.CompareAndSwap(false, true) {
						_ = s.Close()
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}
}

// TestRedTeam2RetriedPublishIsDuplicated: the README's Redis client
// (goredis.Options{Addr, ContextTimeoutEnabled}) keeps go-redis's default
// MaxRetries, 3. When the connection breaks after Redis ran publishKept
// but before its reply came back, go-redis sends the script again: the
// event is kept and published twice, with two positions, and every
// client gets it twice; Publish returns nil, so the caller cannot know.
// Nothing in the package's documentation says to turn retries off (the
// tests' nodes do, with MaxRetries: -1).
func TestRedTeam2RetriedPublishIsDuplicated(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := sse.Config{History: sse.History{Size: 100}}
	watch := startTrustNode(t, srv.Addr, "watch", cfg, 10*time.Millisecond)
	// A kept publish's reply is its position: a bulk string of 16 digits.
	proxy := newReplyDropProxy(t, srv.Addr, "$16\r\n")
	rdb := goredis.NewClient(&goredis.Options{Addr: proxy.ln.Addr().String(), ContextTimeoutEnabled: true})
	bp, err := redis.New(redis.Config{Client: rdb, Prefix: "trust:" + t.Name() + ":"})
	require.NoError(t, err)
	b, err := sse.New(sse.Config{History: cfg.History, Backplane: bp})
	require.NoError(t, err)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = b.Shutdown(sctx)
		_ = rdb.Close()
	})
	s := ssetest.Open(t, nil, watch.url+"/?rooms=r", nil)
	perr := b.Publish(ctx, "r", sse.Event{Data: "once"})
	require.True(t, proxy.dropped.Load(), "the reply was dropped")
	require.NoError(t, watch.b.Publish(ctx, "r", sse.Event{Data: "after"}))
	first := s.Event(t)
	require.Equal(t, "once", first.Data)
	second := s.Event(t)
	assert.Equal(t, "after", second.Data, "Publish returned %v; the event was delivered again with a new id (%s, then %s)", perr, first.ID, second.ID)
}

// TestRedTeam2ReusedCallerIDOneCopyTrimmed: as in process
// (TestRedTeam2ReusedCallerIDOneCopyEvicted), once the older copy of a
// reused caller id is trimmed, locate finds one copy and Replay starts
// after the newer: a client that saw only the older one silently skips
// m1-m3 (two of them trimmed) and the newer copy.
func TestRedTeam2ReusedCallerIDOneCopyTrimmed(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 3}}, 10*time.Millisecond)
	s := ssetest.Open(t, nil, n.url+"/?rooms=r", nil)
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{ID: "x", Data: "first x"}))
	require.Equal(t, "first x", s.Event(t).Data)
	s.Close()
	for _, ev := range []sse.Event{{Data: "m1"}, {Data: "m2"}, {Data: "m3"}, {ID: "x", Data: "second x"}, {Data: "m4"}} {
		require.NoError(t, n.b.Publish(ctx, "r", ev))
	}
	again := ssetest.Open(t, nil, n.url+"/?rooms=r", http.Header{"Last-Event-ID": {"x"}})
	got := again.Event(t)
	assert.Equal(t, sse.ResyncEvent, got.Type, "the client saw only the first x; it got %q first, skipping m1-m3 and the second x", got.Data)
}
