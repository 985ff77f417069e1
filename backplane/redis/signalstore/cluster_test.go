package signalstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse/backplane/redis"
	"github.com/roomcast/sse/backplane/redis/signalstore"
	"github.com/roomcast/sse/internal/redistest"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newCluster starts n signal servers on one Redis, each with its own
// Redis client, store, backplane and HTTP server, and returns their base
// URLs.
func newCluster(t *testing.T, n int) []string {
	t.Helper()
	srv := redistest.Start(t)
	urls := make([]string, n)
	for i := range urls {
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
		prefix := "test:" + t.Name() + ":"
		bp, err := redis.New(redis.Config{Client: rdb, Prefix: prefix + "bp:"})
		require.NoError(t, err)
		s, err := signal.New(signal.Config{
			Store:     signalstore.New(signalstore.Config{Client: rdb, Prefix: prefix}),
			Backplane: bp,
		})
		require.NoError(t, err)
		mux := http.NewServeMux()
		mux.Handle("/signal/", http.StripPrefix("/signal", s))
		ts := httptest.NewServer(mux)
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), ssetest.Timeout)
			defer cancel()
			_ = s.Shutdown(sctx)
			ts.Close()
			_ = rdb.Close()
		})
		urls[i] = ts.URL + "/signal"
	}
	return urls
}

// TestSwarmAcrossServers puts the initiator on server A and peers on B
// and C: joins, leaves, broadcasts, direct messages and token checks
// work across them, and the initiator leaving ends the swarm everywhere.
func TestSwarmAcrossServers(t *testing.T) {
	t.Parallel()
	urls := newCluster(t, 3)
	init, ic := open(t, urls[0]+"/")
	b, bc := open(t, urls[1]+"/"+ic.ID)
	assert.JSONEq(t, `{"cid":"`+bc.CID+`"}`, init.Event(t).Data, "join reaches the initiator on another server")
	c, cc := open(t, urls[2]+"/"+ic.ID)
	assert.JSONEq(t, `{"cid":"`+cc.CID+`"}`, init.Event(t).Data)

	// A broadcast posted on server C, with B's token: the token is
	// checked on a server that did not issue it.
	code, body := sendJSON(t, urls[2]+"/"+ic.ID, map[string]any{"token": bc.Token, "data": map[string]string{"hi": "all"}})
	require.Equal(t, http.StatusNoContent, code, body)
	for _, s := range []*ssetest.Stream{init, b, c} {
		assert.JSONEq(t, `{"hi":"all"}`, signalData(t, s))
	}

	// Direct, from C (posted on A) to B on server B.
	code, body = sendJSON(t, urls[0]+"/"+ic.ID, map[string]any{"token": cc.Token, "cid": bc.CID, "data": "just b"})
	require.Equal(t, http.StatusNoContent, code, body)
	assert.Equal(t, `"just b"`, signalData(t, b))

	// Bad tokens, unknown peers, on any server.
	code, _ = sendJSON(t, urls[1]+"/"+ic.ID, map[string]any{"token": "wrong", "data": 1})
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = sendJSON(t, urls[1]+"/"+ic.ID, map[string]any{"token": bc.Token, "cid": "nobody", "data": 1})
	assert.Equal(t, http.StatusNotFound, code)

	// C leaves: the initiator on A hears of it.
	c.Close()
	assert.JSONEq(t, `{"cid":"`+cc.CID+`"}`, init.Event(t).Data)
	code, _ = sendJSON(t, urls[0]+"/"+ic.ID, map[string]any{"token": cc.Token, "data": 1})
	assert.Equal(t, http.StatusForbidden, code, "a departed peer's token is void everywhere")

	// The initiator leaves: B's stream on another server ends, and the
	// swarm is unknown on every server.
	init.Close()
	ended(t, b)
	for _, u := range urls {
		code, _ = sendJSON(t, u+"/"+ic.ID, map[string]any{"token": bc.Token, "data": 1})
		assert.Equal(t, http.StatusNotFound, code)
		late := ssetest.Open(t, nil, u+"/"+ic.ID, nil)
		assert.Equal(t, http.StatusNotFound, late.Resp.StatusCode)
	}
}

func TestPeersAcrossServersWithTheClient(t *testing.T) {
	t.Parallel()
	urls := newCluster(t, 2)
	initiator, err := signal.Dial(ctx, urls[0])
	require.NoError(t, err)
	defer initiator.Close()
	<-initiator.Connected()
	peer, err := signal.Join(ctx, urls[1], initiator.ID())
	require.NoError(t, err)
	defer peer.Close()
	require.NoError(t, peer.Write(map[string]string{"message": "ping", "_cid": initiator.CID()}))
	for {
		select {
		case m, ok := <-initiator.Messages():
			require.True(t, ok, "the initiator's stream ended: %v", initiator.Err())
			if m.Event == signal.EventSignal {
				var v map[string]string
				require.NoError(t, m.Decode(&v))
				assert.Equal(t, "ping", v["message"])
				return
			}
		case <-time.After(ssetest.Timeout):
			t.Fatal("the direct message did not arrive")
		}
	}
}
