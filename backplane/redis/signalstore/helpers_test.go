package signalstore_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/require"
)

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

// sendJSON posts v as JSON and returns the status and the answer's body.
func sendJSON(t *testing.T, url string, v any) (int, string) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(b)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// signalData reads the next event, checks it is a signal, and returns its
// data.
func signalData(t *testing.T, s *ssetest.Stream) string {
	t.Helper()
	ev := s.Event(t)
	require.Equal(t, signal.EventSignal, ev.Type, "data %q", ev.Data)
	return ev.Data
}

// ended waits for the stream to end.
func ended(t *testing.T, s *ssetest.Stream) { t.Helper(); s.Ended(t) }
