package signal_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse/internal/redistest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stores runs a store test against the in-process store and, where
// redis-server is installed, the Redis store.
func stores(t *testing.T, maxSwarms, maxPeers int, test func(t *testing.T, st signal.TestStore)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		test(t, signal.NewTestStore(maxSwarms, maxPeers))
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t)
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
		t.Cleanup(func() { _ = rdb.Close() })
		test(t, signal.NewTestRedisStore(rdb, "test:", maxSwarms, maxPeers))
	})
}

func TestStoreLifecycle(t *testing.T) {
	t.Parallel()
	stores(t, 0, 0, testStoreLifecycle)
}

func testStoreLifecycle(t *testing.T, st signal.TestStore) {
	require.NoError(t, st.Admit(""))
	require.ErrorIs(t, st.Admit("s"), signal.ErrUnknownSwarm)
	require.NoError(t, st.Create("s", "init", "tok-init"))
	require.NoError(t, st.Admit("s"))
	initiator, err := st.Join("s", "p1", "tok-p1")
	require.NoError(t, err)
	assert.Equal(t, "init", initiator)
	_, err = st.Join("s", "p2", "tok-p2")
	require.NoError(t, err)
	require.NoError(t, st.Create("t", "other", "tok-other"))

	require.NoError(t, st.Authorize("s", "tok-p1"))
	require.NoError(t, st.Authorize("s", "tok-init"))
	require.ErrorIs(t, st.Authorize("s", "tok-other"), signal.ErrBadToken)
	require.ErrorIs(t, st.Authorize("s", "tok-p"), signal.ErrBadToken)
	require.ErrorIs(t, st.Authorize("s", ""), signal.ErrBadToken)
	require.ErrorIs(t, st.Authorize("u", "tok-p1"), signal.ErrUnknownSwarm)
	require.NoError(t, st.Check("s", "p2"))
	require.ErrorIs(t, st.Check("s", "other"), signal.ErrUnknownPeer)
	require.ErrorIs(t, st.Check("u", "p2"), signal.ErrUnknownSwarm)

	initiator, ended, err := st.Leave("s", "p1")
	require.NoError(t, err)
	assert.Equal(t, "init", initiator)
	assert.False(t, ended)
	require.ErrorIs(t, st.Authorize("s", "tok-p1"), signal.ErrBadToken, "a departed peer's token is void")
	_, _, err = st.Leave("s", "p1")
	require.ErrorIs(t, err, signal.ErrUnknownPeer)

	initiator, ended, err = st.Leave("s", "init")
	require.NoError(t, err)
	assert.Empty(t, initiator)
	assert.True(t, ended)
	require.ErrorIs(t, st.Check("s", "p2"), signal.ErrUnknownSwarm)
	_, _, err = st.Leave("s", "p2")
	require.ErrorIs(t, err, signal.ErrUnknownSwarm)
	_, err = st.Join("s", "late", "tok-late")
	require.ErrorIs(t, err, signal.ErrUnknownSwarm)
	require.NoError(t, st.Check("t", "other"), "other swarms are untouched")
}

func TestStoreLimits(t *testing.T) {
	t.Parallel()
	stores(t, 1, 2, testStoreLimits)
}

func testStoreLimits(t *testing.T, st signal.TestStore) {
	require.NoError(t, st.Create("s", "init", "a"))
	require.ErrorIs(t, st.Admit(""), signal.ErrTooManySwarms)
	require.ErrorIs(t, st.Create("t", "x", "b"), signal.ErrTooManySwarms)
	_, err := st.Join("s", "p", "c")
	require.NoError(t, err)
	require.ErrorIs(t, st.Admit("s"), signal.ErrSwarmFull)
	_, err = st.Join("s", "q", "d")
	require.ErrorIs(t, err, signal.ErrSwarmFull)
	_, _, err = st.Leave("s", "init")
	require.NoError(t, err)
	require.NoError(t, st.Create("t", "x", "b"))
}
