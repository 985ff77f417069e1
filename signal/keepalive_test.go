package signal_test

import (
	"bufio"
	"net/http"
	"testing"
	"time"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHeartbeatNeverBeforeConnect beats every millisecond while streams
// open: each stream's first block is still connect, and heartbeats then
// follow as ": heartbeat" blocks.
func TestHeartbeatNeverBeforeConnect(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{HeartbeatInterval: time.Millisecond})
	init := get(t, base+"/", nil)
	require.Equal(t, http.StatusOK, init.StatusCode)
	ic := firstBlockConnect(t, bufio.NewReader(init.Body))
	for i := range 40 {
		url := base + "/"
		if i%2 == 1 {
			url += ic.ID
		}
		resp := get(t, url, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		br := bufio.NewReader(resp.Body)
		firstBlockConnect(t, br)
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, ": heartbeat\n", line, "stream %d", i)
		line, err = br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "\n", line)
		resp.Body.Close()
	}
}
