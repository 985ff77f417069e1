package signal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/eventsource"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// newServer starts a signal server mounted under /signal on a loopback
// HTTP server and returns it with its base URL. Both stop at the test's
// end, after the test's streams (closed by their own cleanups).
func newServer(t *testing.T, cfg signal.Config) (*signal.Server, string) {
	t.Helper()
	srv, err := signal.New(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/signal/", http.StripPrefix("/signal", srv))
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ssetest.Timeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return srv, ts.URL + "/signal"
}

// open opens a raw stream at url, checks that its first event is
// connect, and returns the stream and the connect data.
func open(t *testing.T, url string) (*ssetest.Stream, signal.Connect) {
	t.Helper()
	s := ssetest.Open(t, nil, url, nil)
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)
	ev := s.Event(t)
	require.Equal(t, signal.EventConnect, ev.Type)
	var c signal.Connect
	require.NoError(t, json.Unmarshal([]byte(ev.Data), &c))
	return s, c
}

// swarm creates a swarm with n peers besides the initiator, all raw
// streams, and consumes the initiator's join events.
type swarm struct {
	base  string
	init  *ssetest.Stream
	initC signal.Connect
	peers []*ssetest.Stream
	conns []signal.Connect
}

func newSwarm(t *testing.T, base string, n int) *swarm {
	t.Helper()
	sw := &swarm{base: base}
	sw.init, sw.initC = open(t, base+"/")
	for range n {
		s, c := open(t, sw.url())
		ev := sw.init.Event(t)
		require.Equal(t, signal.EventJoin, ev.Type)
		require.JSONEq(t, `{"cid":"`+c.CID+`"}`, ev.Data)
		sw.peers = append(sw.peers, s)
		sw.conns = append(sw.conns, c)
	}
	return sw
}

func (sw *swarm) url() string { return sw.base + "/" + sw.initC.ID }

// all returns the initiator's stream first, then the peers'.
func (sw *swarm) all() []*ssetest.Stream { return append([]*ssetest.Stream{sw.init}, sw.peers...) }

// send posts body with the content type and returns the status and the
// answer's body.
func send(t *testing.T, url, contentType, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// sendJSON posts v as JSON and returns the status and the answer's body.
func sendJSON(t *testing.T, url string, v any) (int, string) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return send(t, url, "application/json", string(b), nil)
}

// signalData reads the next event, checks it is a signal, and returns its
// data.
func signalData(t *testing.T, s *ssetest.Stream) string {
	t.Helper()
	ev := s.Event(t)
	require.Equal(t, signal.EventSignal, ev.Type, "data %q", ev.Data)
	return ev.Data
}

// errorMessage checks that an error answer is {"error": "..."} and
// returns the message.
func errorMessage(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), "body %q", body)
	assert.NotEmpty(t, e.Error)
	return e.Error
}

// ended waits for the stream to end and returns the events it carried
// before the end.
func ended(t *testing.T, s *ssetest.Stream) []eventsource.Event {
	t.Helper()
	return s.Ended(t)
}

// within fails the test if ch does not deliver before the helpers'
// timeout.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ssetest.Timeout):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}
