package eventsource_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/roomcast/sse/eventsource"
	"github.com/stretchr/testify/require"
)

// timeout bounds every wait of the tests that run over real sockets.
const timeout = 10 * time.Second

// fast makes reconnections immediate for the tests over real sockets.
var fast = eventsource.Options{RetryDelay: time.Millisecond, MaxRetryDelay: 2 * time.Millisecond}

// script is a hand-written server that answers its n-th request with
// its n-th handler (the last one for every request after), and records
// each request's headers.
type script struct {
	ts       *httptest.Server
	requests chan http.Header // one per request, in order
	mu       sync.Mutex
	n        int
}

func newScript(t *testing.T, handlers ...http.HandlerFunc) *script {
	t.Helper()
	s := &script{requests: make(chan http.Header, 1024)}
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		i := min(s.n, len(handlers)-1)
		s.n++
		s.mu.Unlock()
		s.requests <- r.Header.Clone()
		handlers[i](w, r)
	}))
	t.Cleanup(s.ts.Close)
	return s
}

// count returns how many requests the server has had.
func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// request returns the headers of the next request.
func (s *script) request(t *testing.T) http.Header {
	t.Helper()
	select {
	case h := <-s.requests:
		return h
	case <-time.After(timeout):
		t.Fatal("no request came")
		return nil
	}
}

// stream answers with an event stream of body, then ends it.
func stream(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(body))
	}
}

// hold answers with an event stream of body and keeps it open until the
// client goes.
func hold(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(body))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

// open returns an EventSource for url, closed at the test's end.
func open(t *testing.T, url string, opts eventsource.Options) *eventsource.EventSource {
	t.Helper()
	es, err := eventsource.New(url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = es.Close() })
	return es
}

// next returns the next event, failing the test after the timeout.
func next(t *testing.T, es *eventsource.EventSource) eventsource.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ev, err := es.Next(ctx)
	require.NoError(t, err)
	return ev
}

// end returns the error that ends es, failing the test if an event comes
// or nothing does within the timeout.
func end(t *testing.T, es *eventsource.EventSource) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ev, err := es.Next(ctx)
	require.Error(t, err, "got %+v", ev)
	require.False(t, errors.Is(err, context.DeadlineExceeded), "the EventSource did not stop")
	return err
}

// collector records what a hook is given, for later checks.
type collector[T any] struct {
	mu  sync.Mutex
	got []T
	ch  chan T
}

func newCollector[T any]() *collector[T] { return &collector[T]{ch: make(chan T, 1024)} }

func (c *collector[T]) add(v T) {
	c.mu.Lock()
	c.got = append(c.got, v)
	c.mu.Unlock()
	c.ch <- v
}

func (c *collector[T]) all() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.got...)
}

// wait returns the next value the hook is given.
func (c *collector[T]) wait(t *testing.T) T {
	t.Helper()
	select {
	case v := <-c.ch:
		return v
	case <-time.After(timeout):
		t.Fatal("the hook was not called")
		var zero T
		return zero
	}
}
