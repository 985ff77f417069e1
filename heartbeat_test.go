package sse_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/roomcast/sse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memWriter is an in-memory ResponseWriter that can flush, for tests in a
// synctest bubble, where real network I/O cannot be waited on.
type memWriter struct {
	mu     sync.Mutex
	header http.Header
	code   int
	buf    bytes.Buffer
}

func newMemWriter() *memWriter { return &memWriter{header: http.Header{}} }

func (w *memWriter) Header() http.Header { return w.header }
func (w *memWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.code = code
}
func (w *memWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}
func (w *memWriter) Flush() {}
func (w *memWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// serveMem connects a client over memWriter inside a synctest bubble.
func serveMem(t *testing.T, b *sse.Broker, rooms ...string) (*memWriter, *sse.Client, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	r.Header.Set("Accept", "text/event-stream")
	w := newMemWriter()
	c, err := b.Add(w, r, rooms...)
	require.NoError(t, err)
	go func() { _ = c.Serve() }()
	return w, c, cancel
}

func TestHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := newSSE(sse.Config{HeartbeatInterval: 15 * time.Second})
		require.NoError(t, err)
		idle, _, cancelIdle := serveMem(t, b, "r")
		busy, busyClient, cancelBusy := serveMem(t, b, "r")
		beats := func(w *memWriter) int { return strings.Count(w.String(), ": heartbeat\n\n") }

		time.Sleep(14 * time.Second)
		synctest.Wait()
		assert.Equal(t, 0, beats(idle))

		time.Sleep(2 * time.Second) // t=16s: one beat each
		synctest.Wait()
		assert.Equal(t, 1, beats(idle))
		assert.Equal(t, 1, beats(busy))

		// t=20s: the busy client gets an event, so its 30s beat is skipped.
		time.Sleep(4 * time.Second)
		require.NoError(t, b.Send(context.Background(), busyClient, sse.Event{Data: "x"}))
		time.Sleep(11 * time.Second) // t=31s
		synctest.Wait()
		assert.Equal(t, 2, beats(idle))
		assert.Equal(t, 1, beats(busy), "a client sent an event in the interval gets no beat")

		time.Sleep(15 * time.Second) // t=46s
		synctest.Wait()
		assert.Equal(t, 3, beats(idle))
		assert.Equal(t, 2, beats(busy))

		cancelIdle()
		cancelBusy()
		require.NoError(t, b.Shutdown(context.Background()))
	})
}

func TestHeartbeatOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := newSSE(sse.Config{HeartbeatInterval: -1})
		require.NoError(t, err)
		w, _, cancel := serveMem(t, b)
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.NotContains(t, w.String(), "heartbeat")
		cancel()
		require.NoError(t, b.Shutdown(context.Background()))
	})
}
