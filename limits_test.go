package sse_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAcceptHeader(t *testing.T) {
	t.Parallel()
	_, strict := newBroker(t, sse.Config{})
	_, lenient := newBroker(t, sse.Config{LenientAccept: true})
	cases := []struct {
		accept         string
		strict, lenien int
	}{
		{"text/event-stream", 200, 200},
		{"text/html, text/event-stream;q=0.5", 200, 200},
		{"application/json", 406, 406},
		{"text/event-stream;q=0", 406, 406},
		{"*/*", 406, 200},
		{"text/*", 406, 200},
		{"", 406, 200},
	}
	for _, tc := range cases {
		for _, srv := range []struct {
			url  string
			want int
		}{{strict.URL, tc.strict}, {lenient.URL, tc.lenien}} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.url+"/events/r", nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			ctx, cancel := context.WithCancel(ctx)
			resp, err := http.DefaultClient.Do(req.WithContext(ctx))
			require.NoError(t, err)
			assert.Equal(t, srv.want, resp.StatusCode, "Accept %q", tc.accept)
			if resp.StatusCode == http.StatusNotAcceptable {
				body, _ := io.ReadAll(resp.Body)
				assert.Contains(t, string(body), "text/event-stream")
			}
			cancel()
			_ = resp.Body.Close()
		}
	}
}

func TestMaxClients(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{Limits: sse.Limits{MaxClients: 2, ReconnectDelay: 3 * time.Second}})
	s1 := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	s2 := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	for range 5 {
		over := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
		require.Equal(t, http.StatusServiceUnavailable, over.Resp.StatusCode)
		secs, err := strconv.Atoi(over.Resp.Header.Get("Retry-After"))
		require.NoError(t, err)
		assert.True(t, secs >= 3 && secs <= 6, "Retry-After %d outside the jitter range", secs)
	}
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "still here"}))
	assert.Equal(t, "still here", s1.Event(t).Data)
	assert.Equal(t, "still here", s2.Event(t).Data)
	assert.Equal(t, uint64(5), b.Stats().Rejected)
}
