package signal_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnknownPaths(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 0)
	for _, path := range []string{
		"/AAAAAAAAAAAAAAAAAAAAAAAAAA",      // well formed, unknown
		"/" + strings.ToLower(sw.initC.ID), // ids are case sensitive
		"/nope",
		"/" + sw.initC.ID + "/more",
	} {
		s := ssetest.Open(t, nil, base+path, nil)
		assert.Equal(t, http.StatusNotFound, s.Resp.StatusCode, "GET %s", path)
		code, body := sendJSON(t, base+path, map[string]any{"token": sw.initC.Token, "data": 1})
		assert.Equal(t, http.StatusNotFound, code, "POST %s", path)
		errorMessage(t, body)
	}
}

func TestMethods(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 0)
	for _, tc := range []struct {
		method, url, allow string
	}{
		{http.MethodPost, base + "/", "GET, OPTIONS"},
		{http.MethodPut, sw.url(), "GET, POST, OPTIONS"},
		{http.MethodDelete, sw.url(), "GET, POST, OPTIONS"},
		{http.MethodHead, sw.url(), "GET, POST, OPTIONS"},
	} {
		req, err := http.NewRequest(tc.method, tc.url, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s", tc.method, tc.url)
		assert.Equal(t, tc.allow, resp.Header.Get("Allow"))
	}
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{HeartbeatInterval: 20 * time.Millisecond})
	sw := newSwarm(t, base, 0)
	sw.init.Comment(t)
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	srv, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 1)

	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	for _, s := range sw.all() {
		ended(t, s)
	}
	require.NoError(t, within(t, done, "Shutdown"))
	require.ErrorIs(t, srv.Shutdown(ctx), signal.ErrClosed)

	s := ssetest.Open(t, nil, base+"/", nil)
	assert.Equal(t, http.StatusNoContent, s.Resp.StatusCode, "EventSource stops reconnecting on 204")
	code, body := sendJSON(t, sw.url(), map[string]any{"token": sw.initC.Token, "data": 1})
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "server shutting down", errorMessage(t, body))
}

func TestShutdownWaitsForContext(t *testing.T) {
	t.Parallel()
	srv, err := signal.New(signal.Config{})
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	// Nothing to wait for: it returns at once even with a done context,
	// or reports the context.
	err = srv.Shutdown(cctx)
	if err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  signal.Config
	}{
		{"negative body limit", signal.Config{BodyLimit: -1}},
		{"negative max swarms", signal.Config{MaxSwarms: -1}},
		{"negative max peers", signal.Config{MaxPeers: -1}},
		{"bad origin", signal.Config{CORS: signal.CORS{Origins: []string{"example.com"}}}},
		{"origin with path", signal.Config{CORS: signal.CORS{Origins: []string{"https://example.com/app"}}}},
		{"ICE server without URL", signal.Config{ICEServers: []signal.ICEServer{{}}}},
		{"ICE server with an http URL", signal.Config{ICEServers: []signal.ICEServer{{URLs: []string{"http://stun.example"}}}}},
		{"TURN without secret", signal.Config{TURN: signal.TURN{URLs: []string{"turn:turn.example"}}}},
		{"TURN secret without URL", signal.Config{TURN: signal.TURN{Secret: "s"}}},
		{"TURN with a stun URL", signal.Config{TURN: signal.TURN{URLs: []string{"stun:turn.example"}, Secret: "s"}}},
		{"TURN TTL too short", signal.Config{TURN: signal.TURN{URLs: []string{"turn:turn.example"}, Secret: "s", TTL: time.Millisecond}}},
		{"TURN TTL negative", signal.Config{TURN: signal.TURN{URLs: []string{"turn:turn.example"}, Secret: "s", TTL: -time.Second}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := signal.New(tc.cfg)
			require.ErrorIs(t, err, signal.ErrInvalidConfig)
			assert.Nil(t, srv)
			assert.True(t, strings.HasPrefix(err.Error(), "signal: "), err.Error())
		})
	}
}
