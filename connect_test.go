package sse_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawBlocks opens a stream at url and returns a reader of its raw body,
// block by block, each with the blank line that ends it.
func rawBlocks(t *testing.T, url string) func() string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	br := bufio.NewReader(resp.Body)
	return func() string {
		t.Helper()
		var block []byte
		for {
			line, err := br.ReadBytes('\n')
			block = append(block, line...)
			if errors.Is(err, io.EOF) {
				t.Fatalf("stream ended inside a block: %q", block)
			}
			require.NoError(t, err)
			if len(line) == 1 {
				return string(block)
			}
		}
	}
}

func TestOpeningBlock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cfg   sse.Config
		first *regexp.Regexp // the first block, before the first event; nil: none
	}{
		{"default", sse.Config{}, regexp.MustCompile(`^retry: [0-9]+\n\n$`)},
		{"fixed retry", sse.Config{Retry: 2500 * time.Millisecond}, regexp.MustCompile(`^retry: 2500\n\n$`)},
		{"omitted", sse.Config{OmitOpeningBlock: true}, nil},
		{"history: retry and position", sse.Config{History: sse.History{Size: 10}}, regexp.MustCompile(`^retry: [0-9]+\nid: [0-9]+\n\n$`)},
		{"history, omitted", sse.Config{History: sse.History{Size: 10}, OmitOpeningBlock: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.HeartbeatInterval = -1
			h := newHooks(&cfg)
			b, ts := newBroker(t, cfg)
			next := rawBlocks(t, ts.URL+"/events/r")
			h.client(t)
			require.NoError(t, b.Publish(ctx, "r", sse.Event{Name: "first", Data: "one"}))
			if tc.first != nil {
				assert.Regexp(t, tc.first, next())
			}
			assert.Regexp(t, `^(id: [0-9]+\n)?event: first\ndata: one\n\n$`, next(), "the first event comes next, on the raw bytes")
		})
	}
}

func TestOmitOpeningBlockWithRetry(t *testing.T) {
	t.Parallel()
	_, err := newSSE(sse.Config{OmitOpeningBlock: true, Retry: time.Second})
	require.ErrorIs(t, err, sse.ErrInvalidConfig)
	assert.EqualError(t, err, "sse: invalid config: Retry is set, but OmitOpeningBlock sends no retry hint")
}

// panickyWriter is a middleware's ResponseWriter that aborts the
// response when the head is written.
type panickyWriter struct{ http.ResponseWriter }

func (w panickyWriter) WriteHeader(int) { panic(http.ErrAbortHandler) }

// A panic under Add (which runs on a helper goroutine) reaches the
// handler's goroutine, where net/http recovers it, and the client and
// the broker are left as if it had never connected.
func TestPanicUnderAddReachesTheHandler(t *testing.T) {
	t.Parallel()
	b, err := newSSE(sse.Config{})
	require.NoError(t, err)
	recovered := make(chan any, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			recovered <- v
			if v != nil {
				panic(v)
			}
		}()
		if c, err := b.Add(panickyWriter{w}, r, "r"); err == nil {
			_ = c.Serve()
		}
	}))
	defer ts.Close()
	defer b.Shutdown(ctx)
	req, err := http.NewRequest("GET", ts.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	assert.Equal(t, http.ErrAbortHandler, <-recovered)
	ssetest.Wait(t, "the client unregistered", func() bool { return b.Stats().Clients == 0 })
}
