package signalstore_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse/backplane/redis/signalstore"
	"github.com/roomcast/sse/internal/redistest"
	"github.com/roomcast/sse/internal/swarmtest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// client returns a client of a redis-server of the test's own.
func client(t *testing.T) *goredis.Client {
	t.Helper()
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestContract checks the Redis store against the signal.Store contract,
// as signal checks its in-process store.
func TestContract(t *testing.T) {
	t.Parallel()
	swarmtest.Run(t, func(t *testing.T) signal.Store {
		return signalstore.New(signalstore.Config{Client: client(t), Prefix: "test:"})
	})
}

// TestMaintain has a swarm made on one store and joined on another: the
// initiator's store keeps it alive, and when it vanishes (its initiator's
// server died, and it expired) the other store reports it gone.
func TestMaintain(t *testing.T) {
	t.Parallel()
	rdb := client(t)
	a := signalstore.New(signalstore.Config{Client: rdb})
	b := signalstore.New(signalstore.Config{Client: rdb})
	other := signalstore.New(signalstore.Config{Client: rdb, Prefix: "other:"})
	init := signal.Member{CID: "init", Token: sha256.Sum256([]byte("a"))}
	peer := signal.Member{CID: "peer", Token: sha256.Sum256([]byte("b"))}
	require.NoError(t, a.Create(ctx, "s", init, 0))
	_, err := b.Join(ctx, "s", peer, 0)
	require.NoError(t, err)
	require.ErrorIs(t, other.Admit(ctx, "s", 0, 0), signal.ErrUnknownSwarm, "prefixes keep servers apart")

	key := "sse-signal:swarm:s"
	require.NoError(t, rdb.PExpire(ctx, key, time.Second).Err())
	assert.Empty(t, a.Maintain(ctx))
	ttl, err := rdb.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, signalstore.TTL-signal.MaintainInterval, "the initiator's store refreshed the swarm")

	assert.Empty(t, b.Maintain(ctx), "the swarm is alive")
	require.NoError(t, rdb.Del(ctx, key).Err())
	assert.Equal(t, []string{"s"}, b.Maintain(ctx), "the swarm expired")
	assert.Empty(t, a.Maintain(ctx), "the initiator's store reports nothing: its own Server ends its swarms")
}
