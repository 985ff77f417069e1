package sse_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

func TestStreamHeadersHTTP1(t *testing.T) {
	t.Parallel()
	_, ts := newBroker(t, sse.Config{})
	s := ssetest.Open(t, nil, ts.URL+"/events/lobby", nil)
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)
	h := s.Resp.Header
	assert.Equal(t, "text/event-stream", h.Get("Content-Type"))
	assert.Equal(t, "no-cache", h.Get("Cache-Control"))
	assert.Equal(t, "no", h.Get("X-Accel-Buffering"))
	if testMode == "dense" {
		// A taken-over stream ends with its connection, and says so
		// (net/http reads "Connection: close" into Resp.Close).
		assert.True(t, s.Resp.Close)
		assert.Empty(t, s.Resp.TransferEncoding)
	} else {
		assert.Equal(t, "keep-alive", h.Get("Connection"))
		assert.Equal(t, []string{"chunked"}, s.Resp.TransferEncoding)
	}
	assert.Equal(t, 1, s.Resp.ProtoMajor)
}

func TestStreamOverHTTP2(t *testing.T) {
	t.Parallel()
	b, err := newSSE(sse.Config{})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	ts := httptest.NewUnstartedServer(mux)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(func() { _ = b.Shutdown(ctx); ts.Close() })

	client := ts.Client()
	client.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"h2"}
	s := ssetest.Open(t, client, ts.URL+"/events/lobby", nil)
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)
	require.Equal(t, 2, s.Resp.ProtoMajor, "negotiated %s", s.Resp.Proto)
	assert.Empty(t, s.Resp.Header.Get("Connection"), "HTTP/2 forbids Connection")
	assert.Equal(t, "text/event-stream", s.Resp.Header.Get("Content-Type"))

	// Several streams share one HTTP/2 connection.
	s2 := ssetest.Open(t, client, ts.URL+"/events/lobby", nil)
	require.NoError(t, b.Publish(ctx, "lobby", sse.Event{Name: "hi", Data: "over h2"}))
	for _, st := range []*ssetest.Stream{s, s2} {
		ev := st.Event(t)
		assert.Equal(t, "hi", ev.Type)
		assert.Equal(t, "over h2", ev.Data)
	}
	_ = tls.VersionTLS13
}

func TestAddFromAnyHandler(t *testing.T) {
	t.Parallel()
	b, err := newSSE(sse.Config{})
	require.NoError(t, err)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := b.Add(w, r, strings.Split(r.URL.Query().Get("rooms"), ",")...)
		if err != nil {
			return
		}
		_ = c.Serve()
	}))
	t.Cleanup(func() { _ = b.Shutdown(ctx); ts.Close() })

	s := ssetest.Open(t, nil, ts.URL+"/?rooms=a,b", nil)
	require.NoError(t, b.Publish(ctx, "a", sse.Event{Data: "to a"}))
	require.NoError(t, b.Publish(ctx, "c", sse.Event{Data: "to c"}))
	require.NoError(t, b.Publish(ctx, "b", sse.Event{Data: "to b"}))
	assert.Equal(t, "to a", s.Event(t).Data)
	assert.Equal(t, "to b", s.Event(t).Data)

	bad := ssetest.Open(t, nil, ts.URL+"/?rooms=a,*", nil)
	assert.Equal(t, http.StatusBadRequest, bad.Resp.StatusCode)
}

func TestRoomFromConfig(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{Room: func(r *http.Request) (string, error) {
		room := r.URL.Query().Get("topic")
		if room == "secret" {
			return "", errors.New("forbidden topic")
		}
		return room, nil
	}})
	s := ssetest.Open(t, nil, ts.URL+"/events?topic=news", nil)
	require.NoError(t, b.Publish(ctx, "news", sse.Event{Data: "extra"}))
	assert.Equal(t, "extra", s.Event(t).Data)
	bad := ssetest.Open(t, nil, ts.URL+"/events?topic=secret", nil)
	assert.Equal(t, http.StatusBadRequest, bad.Resp.StatusCode)
}

func TestShutdownWaitsForContext(t *testing.T) {
	t.Parallel()
	b, err := newSSE(sse.Config{})
	require.NoError(t, err)
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := b.Add(w, r)
		if err != nil {
			return
		}
		<-release // a handler slow to call Serve
		_ = c.Serve()
	}))
	defer ts.Close()
	s := ssetest.Open(t, nil, ts.URL, nil)
	short, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, b.Shutdown(short), context.Canceled)
	close(release)
	s.Ended(t)
}

func TestStreamOpenBeforeFirstEvent(t *testing.T) {
	t.Parallel()
	_, ts := newBroker(t, sse.Config{HeartbeatInterval: -1})
	// Open returns when the answer has come, or fails the test after
	// ssetest.Timeout: the headers arrive with no event published.
	s := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	assert.Equal(t, http.StatusOK, s.Resp.StatusCode)
}
