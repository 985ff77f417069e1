package main

import (
	"bytes"
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// output collects what a program writes and hands out its lines as they
// complete. It is safe for concurrent use.
type output struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	part  []byte
	lines chan string
}

func newOutput() *output { return &output{lines: make(chan string, 64)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	o.part = append(o.part, p...)
	for {
		i := bytes.IndexByte(o.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case o.lines <- string(o.part[:i]):
		default: // nobody is waiting for lines this late
		}
		o.part = o.part[i+1:]
	}
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

var startLine = regexp.MustCompile(`^sse-signal \S+ listening on (http://[^\s,]+)(, sharing swarms on redis \S+)?$`)

// url waits for the start-up line and returns the server's URL.
func (o *output) url(t *testing.T) string {
	t.Helper()
	select {
	case line := <-o.lines:
		m := startLine.FindStringSubmatch(line)
		require.NotNil(t, m, "start-up line %q", line)
		return m[1]
	case <-time.After(ssetest.Timeout):
		t.Fatalf("no start-up line; output so far: %q", o.String())
	}
	return ""
}

// pingPong checks a running server: a swarm with a peer, a message each
// way through the Go client, and returns both peers for the caller to
// watch end. The peer joins at peerURL, url's server or another sharing
// its swarms; by default the same server.
func pingPong(t *testing.T, url string, peerURL ...string) (*signal.Peer, *signal.Peer) {
	t.Helper()
	join := url
	if len(peerURL) > 0 {
		join = peerURL[0]
	}
	init, err := signal.Dial(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = init.Close() })
	require.Equal(t, signal.EventConnect, (<-init.Messages()).Event)
	peer, err := signal.Join(ctx, join, init.ID())
	require.NoError(t, err)
	t.Cleanup(func() { _ = peer.Close() })
	require.Equal(t, signal.EventConnect, (<-peer.Messages()).Event)
	require.Equal(t, signal.EventJoin, (<-init.Messages()).Event)

	require.NoError(t, init.Write(map[string]string{"message": "ping", "_cid": peer.CID()}))
	require.NoError(t, init.Flush(ctx))
	require.JSONEq(t, `{"message":"ping"}`, string((<-peer.Messages()).Data))
	require.NoError(t, peer.Write(map[string]string{"message": "pong"}))
	require.NoError(t, peer.Flush(ctx))
	require.JSONEq(t, `{"message":"pong"}`, string((<-init.Messages()).Data))
	return init, peer
}

// streamEnded waits for p's stream to end and returns why.
func streamEnded(t *testing.T, p *signal.Peer) error {
	t.Helper()
	deadline := time.After(ssetest.Timeout)
	for {
		select {
		case _, ok := <-p.Messages():
			if !ok {
				return p.Err()
			}
		case <-deadline:
			t.Fatal("stream did not end")
		}
	}
}
