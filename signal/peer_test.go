package signal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dial creates a swarm with a Peer, closed at the test's end, and reads
// its connect message.
func dial(t *testing.T, base string) *signal.Peer {
	t.Helper()
	p, err := signal.Dial(ctx, base)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	require.Equal(t, signal.EventConnect, next(t, p).Event)
	return p
}

// join joins swarm id with a Peer, closed at the test's end, and reads its
// connect message.
func join(t *testing.T, base, id string) *signal.Peer {
	t.Helper()
	p, err := signal.Join(ctx, base, id)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	require.Equal(t, signal.EventConnect, next(t, p).Event)
	return p
}

// next returns p's next message, failing the test at the end of the
// stream or after the helpers' timeout.
func next(t *testing.T, p *signal.Peer) signal.Message {
	t.Helper()
	select {
	case m, ok := <-p.Messages():
		require.True(t, ok, "stream ended: %v", p.Err())
		return m
	case <-time.After(ssetest.Timeout):
		t.Fatal("no message")
	}
	return signal.Message{}
}

// closed waits for p's stream to end and returns the messages before the
// end.
func closed(t *testing.T, p *signal.Peer) []signal.Message {
	t.Helper()
	var rest []signal.Message
	deadline := time.After(ssetest.Timeout)
	for {
		select {
		case m, ok := <-p.Messages():
			if !ok {
				return rest
			}
			rest = append(rest, m)
		case <-deadline:
			t.Fatal("stream did not end")
		}
	}
}

func TestPeerDialAndJoin(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	init, err := signal.Dial(ctx, base+"/") // a trailing slash is fine
	require.NoError(t, err)
	t.Cleanup(func() { _ = init.Close() })
	assert.True(t, init.Initiator())
	m := next(t, init)
	require.Equal(t, signal.EventConnect, m.Event)
	within(t, init.Connected(), "connected")
	var c signal.Connect
	require.NoError(t, m.Decode(&c))
	assert.Equal(t, signal.Connect{ID: init.ID(), CID: init.CID(), Token: init.Token()}, c)
	assert.Len(t, init.ID(), 26)
	assert.Nil(t, init.ICEServers())

	peer := join(t, base, init.ID())
	assert.False(t, peer.Initiator())
	assert.Equal(t, init.ID(), peer.ID())
	m = next(t, init)
	assert.Equal(t, signal.EventJoin, m.Event)
	var pe signal.PeerEvent
	require.NoError(t, m.Decode(&pe))
	assert.Equal(t, peer.CID(), pe.CID)

	require.NoError(t, peer.Close())
	require.NoError(t, peer.Close(), "Close twice is harmless")
	assert.Empty(t, closed(t, peer))
	assert.NoError(t, peer.Err())
	assert.ErrorIs(t, peer.Write("late"), signal.ErrClosed)
	m = next(t, init)
	assert.Equal(t, signal.EventLeave, m.Event)
	assert.JSONEq(t, `{"cid":"`+peer.CID()+`"}`, string(m.Data))
}

func TestPeerWritesBeforeConnect(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	p, err := signal.Dial(ctx, base)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	const n = 20
	for i := range n {
		require.NoError(t, p.Write(map[string]int{"n": i}))
	}
	fctx, cancel := context.WithTimeout(ctx, ssetest.Timeout)
	defer cancel()
	require.NoError(t, p.Flush(fctx))
	require.Equal(t, signal.EventConnect, next(t, p).Event, "connect comes first")
	for i := range n {
		m := next(t, p)
		require.Equal(t, signal.EventSignal, m.Event)
		assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(m.Data), "in order")
	}
}

func TestPeerDirectWrite(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	init := dial(t, base)
	a := join(t, base, init.ID())
	b := join(t, base, init.ID())
	next(t, init)
	next(t, init)

	require.NoError(t, init.Write(map[string]any{"x": "<only a>", "_cid": a.CID()}))
	require.NoError(t, init.Flush(ctx))
	require.NoError(t, b.Write("everyone"))
	require.NoError(t, b.Flush(ctx))

	m := next(t, a)
	assert.Equal(t, signal.EventSignal, m.Event)
	assert.Equal(t, `{"x":"<only a>"}`, string(m.Data), "_cid is taken out, HTML is not escaped")
	assert.Equal(t, `"everyone"`, string(next(t, a).Data))
	assert.Equal(t, `"everyone"`, string(next(t, b).Data), "b did not get a's message")
	assert.Equal(t, `"everyone"`, string(next(t, init).Data))

	assert.ErrorContains(t, init.Write(map[string]any{"_cid": 7}), "_cid must be a string")
	assert.Error(t, init.Write(func() {}), "not JSON")
}

func TestPeerFlushReportsRefusals(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{BodyLimit: 100})
	p := dial(t, base)
	require.NoError(t, p.Write(map[string]any{"hi": 1, "_cid": "nobody"}))
	require.NoError(t, p.Write(string(make([]byte, 200))))
	require.NoError(t, p.Write("fine"))
	err := p.Flush(ctx)
	var se *signal.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusNotFound, se.StatusCode)
	assert.Equal(t, "unknown peer", se.Message)
	assert.ErrorContains(t, err, "413")
	assert.Equal(t, `"fine"`, string(next(t, p).Data))
	require.NoError(t, p.Flush(ctx), "errors are reported once")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.NoError(t, p.Write("x"))
	err = p.Flush(cctx)
	if err != nil { // unless it was sent already
		require.ErrorIs(t, err, context.Canceled)
	}
}

func TestPeerStreamEndedByServer(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	init := dial(t, base)
	peer := join(t, base, init.ID())
	require.NoError(t, init.Close())

	assert.Empty(t, closed(t, peer))
	require.ErrorIs(t, peer.Err(), signal.ErrStreamEnded)
	require.ErrorIs(t, peer.Write("too late"), signal.ErrStreamEnded)
	require.NoError(t, peer.Flush(ctx))
}

func TestPeerDialErrors(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{MaxSwarms: 1})

	_, err := signal.Join(ctx, base, "AAAAAAAAAAAAAAAAAAAAAAAAAA")
	var se *signal.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusNotFound, se.StatusCode)
	assert.Equal(t, "unknown swarm", se.Message)

	dial(t, base)
	_, err = signal.Dial(ctx, base)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode)

	_, err = signal.Join(ctx, base, "")
	assert.Error(t, err)
	for _, bad := range []string{"", "localhost:5000", "ftp://host/", "http://"} {
		_, err = signal.Dial(ctx, bad)
		assert.ErrorContains(t, err, "not an http or https URL", bad)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = signal.Dial(cctx, base)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestPeerDialTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); ts.Close() })
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := signal.Dial(dctx, ts.URL)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// fakeServer answers every request with handler.
func fakeServer(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	ts := httptest.NewServer(handler)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestPeerProtocolErrors(t *testing.T) {
	t.Parallel()
	notSSE := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<html>hello</html>")
	})
	_, err := signal.Dial(ctx, notSSE)
	require.ErrorIs(t, err, signal.ErrProtocol)

	for name, stream := range map[string]string{
		"signal before connect": "event: signal\ndata: {}\n\n",
		"connect without token": "event: connect\ndata: {\"id\":\"i\",\"cid\":\"c\"}\n\n",
		"connect not JSON":      "event: connect\ndata: hello\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			written := make(chan struct{})
			url := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.(http.Flusher).Flush()
				<-written // the stream goes wrong after the write is queued
				_, _ = io.WriteString(w, stream)
			})
			p, err := signal.Dial(ctx, url)
			require.NoError(t, err)
			defer p.Close()
			require.NoError(t, p.Write("never sent"))
			close(written)
			closed(t, p)
			require.ErrorIs(t, p.Err(), signal.ErrProtocol)
			require.ErrorIs(t, p.Flush(ctx), signal.ErrProtocol, "writes die with the stream")
		})
	}

	bad := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: connect\ndata: {\"id\":\"i\",\"cid\":\"c\",\"token\":\"t\"}\n\n"+
			"event: credentials\ndata: [\n\n")
	})
	p, err := signal.Dial(ctx, bad)
	require.NoError(t, err)
	defer p.Close()
	assert.Len(t, closed(t, p), 1, "connect, then the stream ends")
	require.ErrorIs(t, p.Err(), signal.ErrProtocol)

	// Joining, the connect event must name the swarm asked for.
	wrong := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: connect\ndata: {\"id\":\"other\",\"cid\":\"c\",\"token\":\"t\"}\n\n")
	})
	p, err = signal.Join(ctx, wrong, "mine")
	require.NoError(t, err)
	defer p.Close()
	closed(t, p)
	require.ErrorIs(t, p.Err(), signal.ErrProtocol)
}

func TestPeerCloseWhileUnread(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	p, err := signal.Dial(ctx, base)
	require.NoError(t, err)
	for range 10 {
		require.NoError(t, p.Write("unread"))
	}
	require.NoError(t, p.Flush(ctx))
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	require.NoError(t, within(t, done, "Close"))
	closed(t, p)
}

func TestDialerHeaderAndClient(t *testing.T) {
	t.Parallel()
	srv, err := signal.New(signal.Config{})
	require.NoError(t, err)
	seen := make(chan string, 16)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Key") != "k" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		seen <- r.Method
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { _ = srv.Shutdown(ctx); ts.Close() })

	_, err = signal.Dial(ctx, ts.URL)
	var se *signal.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusUnauthorized, se.StatusCode)
	assert.Equal(t, "no key", se.Message, "a text answer is kept as text")

	d := &signal.Dialer{HTTPClient: ts.Client(), Header: http.Header{"X-Key": {"k"}}}
	p, err := d.Dial(ctx, ts.URL)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Write("keyed"))
	require.NoError(t, p.Flush(ctx))
	assert.Equal(t, http.MethodGet, within(t, seen, "GET"))
	assert.Equal(t, http.MethodPost, within(t, seen, "POST"))
}

func TestPeerICEServers(t *testing.T) {
	t.Parallel()
	stun := signal.ICEServer{URLs: []string{"stun:stun.example"}}
	_, base := newServer(t, signal.Config{
		ICEServers: []signal.ICEServer{stun},
		TURN:       signal.TURN{URLs: []string{"turn:turn.example"}, Secret: "k", TTL: 2 * time.Second},
	})
	p := dial(t, base)
	first := p.ICEServers()
	require.Len(t, first, 2)
	assert.Equal(t, stun, first[0])
	first[0].URLs[0] = "changed"
	assert.Equal(t, stun, p.ICEServers()[0], "a copy")

	m := next(t, p)
	require.Equal(t, signal.EventCredentials, m.Event)
	var cr signal.Credentials
	require.NoError(t, m.Decode(&cr))
	assert.Equal(t, cr.ICEServers, p.ICEServers())
	assert.NotEqual(t, first[1].Username, p.ICEServers()[1].Username)
}

// TestPingPong is moshpit's ping-pong example: the initiator pings each
// peer that joins, by direct message; the peer pongs back to the sender
// named in the message; the initiator then leaves, which ends the swarm.
func TestPingPong(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	heard := make(chan string, 2)
	peerDone := make(chan error, 1)

	initiator, err := signal.Dial(ctx, base)
	require.NoError(t, err)
	for m := range initiator.Messages() {
		switch m.Event {
		case signal.EventConnect:
			peer, err := signal.Join(ctx, base, initiator.ID())
			require.NoError(t, err)
			go func() { peerDone <- pong(peer, heard) }()
		case signal.EventJoin:
			var j signal.PeerEvent
			require.NoError(t, m.Decode(&j))
			require.NoError(t, initiator.Write(map[string]string{
				"message": "ping " + j.CID,
				"from":    initiator.CID(),
				"_cid":    j.CID,
			}))
		case signal.EventSignal:
			var msg struct{ Message string }
			require.NoError(t, m.Decode(&msg))
			heard <- "initiator heard " + msg.Message
			require.NoError(t, initiator.Close())
		}
	}
	require.NoError(t, initiator.Err())
	require.ErrorIs(t, within(t, peerDone, "the peer"), signal.ErrStreamEnded)
	got := []string{<-heard, <-heard}
	assert.Regexp(t, `^peer heard ping [0-9a-v]{20}$`, got[0])
	assert.Equal(t, "initiator heard pong "+initiator.CID(), got[1])
}

// pong answers each ping to the peer that sent it, until the stream
// ends, and returns why it ended.
func pong(peer *signal.Peer, heard chan<- string) error {
	defer peer.Close()
	for m := range peer.Messages() {
		if m.Event != signal.EventSignal {
			continue
		}
		var msg struct{ Message, From string }
		if err := json.Unmarshal(m.Data, &msg); err != nil {
			return err
		}
		heard <- "peer heard " + msg.Message
		if err := peer.Write(map[string]string{"message": "pong " + msg.From, "_cid": msg.From}); err != nil {
			return err
		}
	}
	if err := peer.Err(); err != nil {
		return err
	}
	return errors.New("stream closed by Close")
}

func TestMessageDecode(t *testing.T) {
	t.Parallel()
	var v struct{ A int }
	require.NoError(t, signal.Message{Event: "signal", Data: []byte(`{"A":3}`)}.Decode(&v))
	assert.Equal(t, 3, v.A)
	assert.Error(t, signal.Message{Data: []byte(`nope`)}.Decode(&v))
}
