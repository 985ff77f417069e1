package signal_test

import (
	"strings"
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		signal.ErrClosed, signal.ErrInvalidConfig, signal.ErrStreamEnded, signal.ErrProtocol,
		signal.ErrUnknownSwarm, signal.ErrUnknownPeer, signal.ErrTooManySwarms, signal.ErrSwarmFull, signal.ErrBadToken,
	} {
		assert.True(t, strings.HasPrefix(err.Error(), "signal: "), err.Error())
	}
	assert.Equal(t, "signal: server answered 404 Not Found: unknown swarm",
		(&signal.StatusError{StatusCode: 404, Message: "unknown swarm"}).Error())
	assert.Equal(t, "signal: server answered 503 Service Unavailable",
		(&signal.StatusError{StatusCode: 503}).Error())
}
