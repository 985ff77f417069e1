package signal_test

import (
	"testing"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/swarmtest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemStore checks the in-process store against the Store contract;
// backplane/redis/signalstore checks the Redis store against the same.
func TestMemStore(t *testing.T) {
	t.Parallel()
	swarmtest.Run(t, func(*testing.T) signal.Store { return signal.NewMemStore() })
}

// TestStoreNeedsBackplane: a Store shared with other Servers is useless
// without a Backplane to carry the events between them, and a Backplane
// without a shared Store, so New refuses one without the other.
func TestStoreNeedsBackplane(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]signal.Config{
		"store alone":     {Store: signal.NewMemStore()},
		"backplane alone": {Backplane: nopBackplane{}},
	} {
		_, err := signal.New(cfg)
		require.ErrorIs(t, err, signal.ErrInvalidConfig, name)
		assert.ErrorContains(t, err, "Store and Backplane go together", name)
	}
}

// nopBackplane stands for a Backplane: New refuses it before calling
// any method.
type nopBackplane struct{ sse.Backplane }
