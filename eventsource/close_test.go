package eventsource_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/roomcast/sse/eventsource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "localhost:80/x", "ftp://host/", "http://", "http://a b/"} {
		_, err := eventsource.New(bad, eventsource.Options{})
		assert.ErrorContains(t, err, "is not an http or https URL", bad)
	}
	_, err := eventsource.New("http://x/", eventsource.Options{MaxEventSize: -1})
	assert.EqualError(t, err, "eventsource: MaxEventSize, RetryDelay and MaxRetryDelay must not be negative")
	_, err = eventsource.New("http://x/", eventsource.Options{Client: &http.Client{Timeout: time.Second}})
	assert.ErrorContains(t, err, "Timeout")
	es, err := eventsource.New("http://x/", eventsource.Options{})
	require.NoError(t, err)
	assert.Equal(t, eventsource.Connecting, es.State())
	require.NoError(t, es.Close())
	require.NoError(t, es.Close(), "idempotent")
	_, err = es.Next(context.Background())
	assert.ErrorIs(t, err, eventsource.ErrClosed, "closed before it started: nothing was sent")
	assert.Equal(t, eventsource.Closed, es.State())
}

func TestCloseWhileReading(t *testing.T) {
	t.Parallel()
	s := newScript(t, hold(""))
	es := open(t, s.ts.URL, fast)
	got := make(chan error, 1)
	go func() {
		_, err := es.Next(context.Background())
		got <- err
	}()
	s.request(t) // the request is in, the stream open and empty
	require.NoError(t, es.Close())
	select {
	case err := <-got:
		assert.ErrorIs(t, err, eventsource.ErrClosed)
	case <-time.After(timeout):
		t.Fatal("Next did not return")
	}
}

func TestCloseWhileWaitingToReconnect(t *testing.T) {
	t.Parallel()
	s := newScript(t, stream("data: x\n\n"))
	errs := newCollector[error]()
	es := open(t, s.ts.URL, eventsource.Options{RetryDelay: time.Hour, OnError: errs.add})
	next(t, es)
	require.ErrorIs(t, errs.wait(t), eventsource.ErrStreamEnded) // now it waits an hour
	require.NoError(t, es.Close())
	assert.ErrorIs(t, es.Err(), eventsource.ErrClosed)
	assert.Equal(t, 1, s.count())
}

func TestNextContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s := newScript(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-release
		_, _ = w.Write([]byte("data: late\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	es := open(t, s.ts.URL, fast)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.request(t); cancel() }()
	_, err := es.Next(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	assert.Equal(t, "late", next(t, es).Data, "the stream went on")
}

func TestAll(t *testing.T) {
	t.Parallel()
	s := newScript(t, stream("data: 1\n\ndata: 2\n\n"), func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	es := open(t, s.ts.URL, fast)
	var data []string
	var errs []error
	for ev, err := range es.All(context.Background()) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data = append(data, ev.Data)
	}
	assert.Equal(t, []string{"1", "2"}, data)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], eventsource.ErrNoContent)

	// Close ends the loop quietly; break leaves the EventSource open.
	s = newScript(t, hold("data: 1\n\ndata: 2\n\n"))
	es = open(t, s.ts.URL, fast)
	for ev, err := range es.All(context.Background()) {
		require.NoError(t, err)
		assert.Equal(t, "1", ev.Data)
		break
	}
	assert.Equal(t, "2", next(t, es).Data)
	go func() { s.request(t); _ = es.Close() }()
	for _, err := range es.All(context.Background()) {
		t.Fatalf("yielded after Close: %v", err)
	}
}
