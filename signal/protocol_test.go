package signal_test

import (
	"encoding/json"
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWireNames pins the JSON names the protocol's events use: those of
// koa-signal, and RTCIceServer's.
func TestWireNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    any
		want string
	}{
		{signal.Connect{ID: "i", CID: "c", Token: "t"}, `{"id":"i","cid":"c","token":"t"}`},
		{signal.Connect{ID: "i", CID: "c", Token: "t", ICEServers: []signal.ICEServer{{URLs: []string{"stun:s"}}}},
			`{"id":"i","cid":"c","token":"t","iceServers":[{"urls":["stun:s"]}]}`},
		{signal.PeerEvent{CID: "c"}, `{"cid":"c"}`},
		{signal.Credentials{ICEServers: []signal.ICEServer{{URLs: []string{"turn:t"}, Username: "1:c", Credential: "p"}}},
			`{"iceServers":[{"urls":["turn:t"],"username":"1:c","credential":"p"}]}`},
	} {
		b, err := json.Marshal(tc.v)
		require.NoError(t, err)
		assert.JSONEq(t, tc.want, string(b))
	}
}
