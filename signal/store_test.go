package signal_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoreLifecycle(t *testing.T) {
	t.Parallel()
	st := signal.NewTestStore(0, 0)
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

	initiator, closed, err := st.Leave("s", "p1")
	require.NoError(t, err)
	assert.Equal(t, "init", initiator)
	assert.Empty(t, closed)
	require.ErrorIs(t, st.Authorize("s", "tok-p1"), signal.ErrBadToken, "a departed peer's token is void")
	_, _, err = st.Leave("s", "p1")
	require.ErrorIs(t, err, signal.ErrUnknownPeer)

	initiator, closed, err = st.Leave("s", "init")
	require.NoError(t, err)
	assert.Empty(t, initiator)
	assert.Equal(t, []string{"p2"}, closed)
	require.ErrorIs(t, st.Check("s", "p2"), signal.ErrUnknownSwarm)
	_, _, err = st.Leave("s", "p2")
	require.ErrorIs(t, err, signal.ErrUnknownSwarm)
	_, err = st.Join("s", "late", "tok-late")
	require.ErrorIs(t, err, signal.ErrUnknownSwarm)
	require.NoError(t, st.Check("t", "other"), "other swarms are untouched")
}

func TestStoreLimits(t *testing.T) {
	t.Parallel()
	st := signal.NewTestStore(1, 2)
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

// TestStoreJoinRacesInitiator: every peer either joins before the swarm
// ends, and is then in the list of streams to close, or is refused.
func TestStoreJoinRacesInitiator(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		st := signal.NewTestStore(0, 0)
		require.NoError(t, st.Create("s", "init", "tok"))
		const n = 50
		joined := make([]bool, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, err := st.Join("s", fmt.Sprint("p", i), fmt.Sprint("tok", i))
				if err == nil {
					joined[i] = true
				} else {
					assert.ErrorIs(t, err, signal.ErrUnknownSwarm)
				}
			})
		}
		var closed []string
		wg.Go(func() {
			<-start
			var err error
			_, closed, err = st.Leave("s", "init")
			assert.NoError(t, err)
		})
		close(start)
		wg.Wait()
		var want []string
		for i, ok := range joined {
			if ok {
				want = append(want, fmt.Sprint("p", i))
			}
		}
		assert.ElementsMatch(t, want, closed, "round %d", round)
	}
}
