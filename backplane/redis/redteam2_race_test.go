package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse"
	"github.com/roomcast/sse/backplane/redis"
	"github.com/roomcast/sse/internal/redistest"
	"github.com/stretchr/testify/require"
)

// TestRedTeam2PublishRacesShutdown: Publish calls (with a context that
// can be done, so that Backplane.do takes its goroutine path) while the
// broker shuts down. publishRemote's isClosed check does not keep a
// publish out of the backplane once Shutdown has begun, so do's
// inflight.Add(1), from zero, runs concurrently with Close's
// inflight.Wait: the race detector reports it (WaitGroup misuse), and a
// publish goroutine may still run on the caller's Redis client after
// Close returned, although Close promises to wait for them.
func TestRedTeam2PublishRacesShutdown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	for round := range 200 {
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
		bp, err := redis.New(redis.Config{Client: rdb, Prefix: "race:" + t.Name() + ":"})
		require.NoError(t, err)
		b, err := newSSE(sse.Config{History: sse.History{Size: 10}, Backplane: bp})
		require.NoError(t, err)
		pctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				<-start
				for {
					if err := b.Publish(pctx, "r", sse.Event{Data: "x"}); err != nil {
						return
					}
				}
			})
		}
		close(start)
		sctx, c2 := context.WithTimeout(ctx, 10*time.Second)
		require.NoError(t, b.Shutdown(sctx), "round %d", round)
		c2()
		wg.Wait()
		cancel()
		_ = rdb.Close()
	}
}
