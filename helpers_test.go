package sse_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/require"
)

// newBroker starts a broker and a loopback server with the broker at
// GET /events/{room}, and GET /events mounted without a {room} wildcard
// (which the default Config.Room answers 500). Both are stopped at the
// test's end.
func newBroker(t *testing.T, cfg sse.Config) (*sse.Broker, *httptest.Server) {
	t.Helper()
	b, err := newSSE(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	mux.Handle("GET /events", b)
	return b, startServer(t, b, mux)
}

// startServer serves h for the test; at its end b is shut down, then the
// server closed.
func startServer(t *testing.T, b *sse.Broker, h http.Handler) *httptest.Server {
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Shutdown(ctx)
		ts.Close()
	})
	return ts
}

// hooks records connections and disconnections on channels.
type hooks struct {
	connected    chan *sse.Client
	disconnected chan disconnect
}

type disconnect struct {
	c      *sse.Client
	reason sse.DisconnectReason
}

func newHooks(cfg *sse.Config) *hooks {
	h := &hooks{connected: make(chan *sse.Client, 1024), disconnected: make(chan disconnect, 1024)}
	cfg.OnConnect = func(c *sse.Client) { h.connected <- c }
	cfg.OnDisconnect = func(c *sse.Client, r sse.DisconnectReason) { h.disconnected <- disconnect{c, r} }
	return h
}

func (h *hooks) client(t *testing.T) *sse.Client {
	t.Helper()
	return receive(t, h.connected, "no client connected")
}

func (h *hooks) gone(t *testing.T) disconnect {
	t.Helper()
	return receive(t, h.disconnected, "no client disconnected")
}

// receive returns the next value on ch, failing the test with what if
// none comes within ssetest.Timeout.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ssetest.Timeout):
		t.Fatal(what)
	}
	var zero T
	return zero
}

// newSSE is sse.New in the stream mode under test (see ssetest.Modes).
func newSSE(cfg sse.Config) (*sse.Broker, error) {
	if testMode == "dense" {
		cfg.Dense = true
	}
	return sse.New(cfg)
}
