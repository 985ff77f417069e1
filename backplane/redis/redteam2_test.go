package redis_test

// Second round of red-team tests against the delivery guarantees on
// Redis. Each TestRedTeam2* fails on the code it was written against.

import (
	"context"
	"io"
	"net"
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

// TestRedTeam2CallerIDEqualToGeneratedPosition: a caller's id equal to a
// generated position (or any Unix time in microseconds) was taken for the
// position on Redis, and a resuming client was sent the caller's event
// again, or skipped events once it was trimmed. Such ids are refused for
// kept events, on every node.
func TestRedTeam2CallerIDEqualToGeneratedPosition(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	n := startTrustNode(t, srv.Addr, "n", sse.Config{History: sse.History{Size: 100}}, 10*time.Millisecond)
	s := ssetest.Open(t, nil, n.url+"/?rooms=r", nil)
	require.NoError(t, n.b.Publish(ctx, "r", sse.Event{Data: "generated"}))
	gen := s.Event(t)
	require.Equal(t, "generated", gen.Data)
	for _, id := range []string{gen.ID, strconv.FormatInt(time.Now().Add(300*time.Millisecond).UnixMicro(), 10)} {
		var ee *sse.EventError
		require.ErrorAs(t, n.b.Publish(ctx, "r", sse.Event{ID: id, Data: "caller"}), &ee, "id %s", id)
		require.ErrorAs(t, n.b.PublishAll(ctx, sse.Event{ID: id, Data: "caller"}), &ee, "id %s", id)
	}
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

// TestRedTeam2RetriedPublishIsDuplicated: with go-redis's default of 3
// retries, a publish whose reply was lost ran again: the event was kept
// and delivered twice, and Publish returned nil. New refuses a client
// that retries; with one that does not, the lost reply is an uncertain
// outcome, and the event arrives once.
func TestRedTeam2RetriedPublishIsDuplicated(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := sse.Config{History: sse.History{Size: 100}}
	watch := startTrustNode(t, srv.Addr, "watch", cfg, 10*time.Millisecond)
	retrying := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	_, err := redis.New(redis.Config{Client: retrying})
	require.ErrorContains(t, err, "MaxRetries: -1")
	_ = retrying.Close()

	// A kept publish's reply is its position: a bulk string of 16 digits.
	proxy := newReplyDropProxy(t, srv.Addr, "$16\r\n")
	rdb := goredis.NewClient(&goredis.Options{Addr: proxy.ln.Addr().String(), MaxRetries: -1, ContextTimeoutEnabled: true})
	bp, err := redis.New(redis.Config{Client: rdb, Prefix: "trust:" + t.Name() + ":"})
	require.NoError(t, err)
	b, err := newSSE(sse.Config{History: cfg.History, Backplane: bp})
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
	require.ErrorIs(t, perr, sse.ErrUncertain, "the event may have been published")
	require.NoError(t, watch.b.Publish(ctx, "r", sse.Event{Data: "after"}))
	assert.Equal(t, "once", s.Event(t).Data)
	assert.Equal(t, "after", s.Event(t).Data, "delivered once")
}
