package signal_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateSwarm(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	s, c := open(t, base+"/")
	assert.Equal(t, "text/event-stream", s.Resp.Header.Get("Content-Type"))
	assert.Len(t, c.ID, 26)
	assert.Len(t, c.Token, 26)
	assert.Len(t, c.CID, 20, "an xid")
	assert.Empty(t, c.ICEServers)

	_, c2 := open(t, base)
	assert.NotEqual(t, c.ID, c2.ID)
	assert.NotEqual(t, c.Token, c2.Token)
	assert.NotEqual(t, c.CID, c2.CID)
}

func TestJoinAndLeave(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	init, ic := open(t, base+"/")
	peer, pc := open(t, base+"/"+ic.ID)
	assert.Equal(t, ic.ID, pc.ID)
	assert.NotEqual(t, ic.CID, pc.CID)
	assert.NotEqual(t, ic.Token, pc.Token)

	ev := init.Event(t)
	assert.Equal(t, signal.EventJoin, ev.Type)
	assert.JSONEq(t, `{"cid":"`+pc.CID+`"}`, ev.Data)

	// A second peer: only the initiator hears of joins and leaves.
	other, oc := open(t, base+"/"+ic.ID)
	assert.JSONEq(t, `{"cid":"`+oc.CID+`"}`, init.Event(t).Data)

	peer.Close()
	ev = init.Event(t)
	assert.Equal(t, signal.EventLeave, ev.Type)
	assert.JSONEq(t, `{"cid":"`+pc.CID+`"}`, ev.Data)

	// The departed peer's token no longer works; the swarm goes on.
	code, _ := sendJSON(t, base+"/"+ic.ID, map[string]any{"token": pc.Token, "data": 1})
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = sendJSON(t, base+"/"+ic.ID, map[string]any{"token": oc.Token, "data": "still here"})
	require.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, `"still here"`, signalData(t, init))
	assert.Equal(t, `"still here"`, signalData(t, other))
}

func TestInitiatorLeavingEndsSwarm(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 3)
	code, _ := sendJSON(t, sw.url(), map[string]any{"token": sw.conns[0].Token, "data": "last words"})
	require.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, `"last words"`, signalData(t, sw.init))

	sw.init.Close()
	for i, p := range sw.peers {
		evs := ended(t, p)
		require.Len(t, evs, 1, "peer %d: what was queued is written first", i)
		assert.Equal(t, `"last words"`, evs[0].Data)
	}
	s := ssetest.Open(t, nil, sw.url(), nil)
	assert.Equal(t, http.StatusNotFound, s.Resp.StatusCode, "the swarm is gone")
	code, _ = sendJSON(t, sw.url(), map[string]any{"token": sw.conns[0].Token, "data": 1})
	assert.Equal(t, http.StatusNotFound, code)
}

func TestMaxSwarmsAndPeers(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{MaxSwarms: 2, MaxPeers: 2})
	a := newSwarm(t, base, 1) // full: initiator and one peer
	b := newSwarm(t, base, 0)

	s := ssetest.Open(t, nil, base+"/", nil)
	assert.Equal(t, http.StatusServiceUnavailable, s.Resp.StatusCode)
	assert.Equal(t, "application/json; charset=utf-8", s.Resp.Header.Get("Content-Type"))
	s = ssetest.Open(t, nil, a.url(), nil)
	assert.Equal(t, http.StatusServiceUnavailable, s.Resp.StatusCode)

	// Room for one more peer in b, and none after.
	open(t, b.url())
	s = ssetest.Open(t, nil, b.url(), nil)
	assert.Equal(t, http.StatusServiceUnavailable, s.Resp.StatusCode)

	// A peer leaving makes room; a swarm ending makes room for a swarm.
	a.peers[0].Close()
	assert.Equal(t, signal.EventLeave, a.init.Event(t).Type)
	open(t, a.url())
	b.init.Close()
	ssetest.Wait(t, "the swarm to end", func() bool {
		s := ssetest.Open(t, nil, b.url(), nil)
		s.Close()
		return s.Resp.StatusCode == http.StatusNotFound
	})
	open(t, base+"/")
}

// TestInitiatorLeavingWhilePeersJoin: peers join while the initiator
// leaves. Each is turned away (404), or admitted and then closed with the
// swarm: none is left in a swarm that no longer exists.
func TestInitiatorLeavingWhilePeersJoin(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	for range 5 {
		sw := newSwarm(t, base, 0)
		const n = 20
		streams := make(chan *ssetest.Stream, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				<-start
				streams <- ssetest.Open(t, nil, sw.url(), nil)
			})
		}
		close(start)
		sw.init.Close()
		wg.Wait()
		close(streams)
		for s := range streams {
			switch s.Resp.StatusCode {
			case http.StatusNotFound:
			case http.StatusOK:
				evs := ended(t, s)
				if assert.NotEmpty(t, evs) {
					assert.Equal(t, signal.EventConnect, evs[0].Type)
				}
			default:
				t.Errorf("status %d", s.Resp.StatusCode)
			}
		}
	}
}
