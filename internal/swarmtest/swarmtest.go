// Package swarmtest checks that a signal.Store keeps the contract that
// signal.Server relies on. The in-process store and the Redis store of
// backplane/redis/signalstore run the same checks.
package swarmtest

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Run runs the contract's tests on stores that newStore makes, a fresh
// and empty one for each call.
func Run(t *testing.T, newStore func(t *testing.T) signal.Store) {
	t.Run("lifecycle", func(t *testing.T) {
		t.Parallel()
		lifecycle(t, newStore(t))
	})
	t.Run("limits", func(t *testing.T) {
		t.Parallel()
		limits(t, newStore(t))
	})
}

var ctx = context.Background()

func m(cid, token string) signal.Member {
	return signal.Member{CID: cid, Token: sha256.Sum256([]byte(token))}
}

func tok(token string) signal.TokenDigest { return sha256.Sum256([]byte(token)) }

func lifecycle(t *testing.T, st signal.Store) {
	require.NoError(t, st.Admit(ctx, "", 0, 0))
	require.ErrorIs(t, st.Admit(ctx, "s", 0, 0), signal.ErrUnknownSwarm)
	require.NoError(t, st.Create(ctx, "s", m("init", "tok-init"), 0))
	require.NoError(t, st.Admit(ctx, "s", 0, 0))
	initiator, err := st.Join(ctx, "s", m("p1", "tok-p1"), 0)
	require.NoError(t, err)
	assert.Equal(t, "init", initiator)
	_, err = st.Join(ctx, "s", m("p2", "tok-p2"), 0)
	require.NoError(t, err)
	require.NoError(t, st.Create(ctx, "t", m("other", "tok-other"), 0))

	require.NoError(t, st.Authorize(ctx, "s", tok("tok-p1")))
	require.NoError(t, st.Authorize(ctx, "s", tok("tok-init")))
	require.ErrorIs(t, st.Authorize(ctx, "s", tok("tok-other")), signal.ErrBadToken)
	require.ErrorIs(t, st.Authorize(ctx, "s", tok("tok-p")), signal.ErrBadToken)
	require.ErrorIs(t, st.Authorize(ctx, "s", tok("")), signal.ErrBadToken)
	require.ErrorIs(t, st.Authorize(ctx, "u", tok("tok-p1")), signal.ErrUnknownSwarm)
	require.NoError(t, st.Check(ctx, "s", "p2"))
	require.ErrorIs(t, st.Check(ctx, "s", "other"), signal.ErrUnknownPeer)
	require.ErrorIs(t, st.Check(ctx, "u", "p2"), signal.ErrUnknownSwarm)

	d, err := st.Leave(ctx, "s", "p1")
	require.NoError(t, err)
	assert.Equal(t, signal.Departure{Initiator: "init"}, d)
	require.ErrorIs(t, st.Authorize(ctx, "s", tok("tok-p1")), signal.ErrBadToken, "a departed peer's token is void")
	_, err = st.Leave(ctx, "s", "p1")
	require.ErrorIs(t, err, signal.ErrUnknownPeer)

	d, err = st.Leave(ctx, "s", "init")
	require.NoError(t, err)
	assert.Equal(t, signal.Departure{Ended: true}, d)
	require.ErrorIs(t, st.Check(ctx, "s", "p2"), signal.ErrUnknownSwarm)
	_, err = st.Leave(ctx, "s", "p2")
	require.ErrorIs(t, err, signal.ErrUnknownSwarm)
	_, err = st.Join(ctx, "s", m("late", "tok-late"), 0)
	require.ErrorIs(t, err, signal.ErrUnknownSwarm)
	require.NoError(t, st.Check(ctx, "t", "other"), "other swarms are untouched")
	assert.Empty(t, st.Maintain(ctx), "no swarm vanished without a Leave")
}

func limits(t *testing.T, st signal.Store) {
	const maxSwarms, maxPeers = 1, 2
	require.NoError(t, st.Create(ctx, "s", m("init", "a"), maxSwarms))
	require.ErrorIs(t, st.Admit(ctx, "", maxSwarms, maxPeers), signal.ErrTooManySwarms)
	require.NoError(t, st.Admit(ctx, "", 2, maxPeers), "the caps are the caller's")
	require.ErrorIs(t, st.Create(ctx, "t", m("x", "b"), maxSwarms), signal.ErrTooManySwarms)
	_, err := st.Join(ctx, "s", m("p", "c"), maxPeers)
	require.NoError(t, err)
	require.ErrorIs(t, st.Admit(ctx, "s", maxSwarms, maxPeers), signal.ErrSwarmFull)
	_, err = st.Join(ctx, "s", m("q", "d"), maxPeers)
	require.ErrorIs(t, err, signal.ErrSwarmFull)
	_, err = st.Leave(ctx, "s", "init")
	require.NoError(t, err)
	require.NoError(t, st.Create(ctx, "t", m("x", "b"), maxSwarms))
}
