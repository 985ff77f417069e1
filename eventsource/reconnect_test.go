package eventsource_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/roomcast/sse/eventsource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memTransport answers requests in memory, so that an EventSource can
// run in a synctest bubble (real sockets cannot): its n-th request gets
// the n-th answer. It records when each request came.
type memTransport struct {
	answers []func(*http.Request) (*http.Response, error)
	at      chan time.Time
}

func (m *memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	m.at <- time.Now()
	a := m.answers[0]
	if len(m.answers) > 1 {
		m.answers = m.answers[1:]
	}
	return a(req)
}

func answer(status int, header http.Header, body io.Reader) func(*http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		if header == nil {
			header = http.Header{"Content-Type": {"text/event-stream"}}
		}
		return &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(body), Request: req}, nil
	}
}

func refuse(*http.Request) (*http.Response, error) { return nil, errors.New("connection refused") }

// blocked is a body that delivers nothing until its request ends.
func blocked(req *http.Request) (*http.Response, error) {
	return answer(200, nil, ctxReader{req.Context()})(req)
}

type ctxReader struct{ ctx context.Context }

func (r ctxReader) Read([]byte) (int, error) {
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

// TestReconnectTiming checks every wait of the reconnection policy, in
// fake time: the server's retry, doubled per failure in a row, capped,
// at least Retry-After, reset after a stream that delivered, with at most
// half again as jitter.
func TestReconnectTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &memTransport{at: make(chan time.Time, 16), answers: []func(*http.Request) (*http.Response, error){
			answer(200, nil, strings.NewReader("retry: 1000\ndata: a\n\n")), // delivers, then ends
			refuse, // failure 1
			answer(200, nil, strings.NewReader(": nothing\n\n")), // failure 2: opened, delivered nothing
			refuse, // failure 3: capped
			answer(503, http.Header{"Retry-After": {"20"}}, strings.NewReader("busy")), // failure 4: Retry-After
			answer(200, nil, strings.NewReader("data: b\n\n")),                         // delivers: reset
			blocked,
		}}
		es, err := eventsource.New("http://memory/", eventsource.Options{
			Client:            &http.Client{Transport: tr},
			RetryDelay:        time.Hour, // replaced by the server's retry at once
			MaxRetryDelay:     5 * time.Second,
			RetryServerErrors: true,
		})
		require.NoError(t, err)
		defer es.Close()

		ev, err := es.Next(t.Context())
		require.NoError(t, err)
		assert.Equal(t, eventsource.Event{Type: "message", Data: "a", Retry: time.Second}, ev)
		prev := <-tr.at
		for i, want := range []struct{ least, most time.Duration }{
			{1 * time.Second, 1500 * time.Millisecond}, // the server's retry
			{2 * time.Second, 3 * time.Second},         // doubled
			{4 * time.Second, 6 * time.Second},         // doubled again
			{5 * time.Second, 7500 * time.Millisecond}, // capped at MaxRetryDelay
			{20 * time.Second, 20 * time.Second},       // Retry-After, over the back-off
			{1 * time.Second, 1500 * time.Millisecond}, // reset after an event
		} {
			if i == 5 {
				ev, err := es.Next(t.Context())
				require.NoError(t, err)
				assert.Equal(t, "b", ev.Data)
			}
			at := <-tr.at
			wait := at.Sub(prev)
			assert.True(t, wait >= want.least && wait <= want.most, "wait %d: %v, want %v to %v", i+1, wait, want.least, want.most)
			prev = at
		}
		synctest.Wait()
		assert.Equal(t, eventsource.Open, es.State())
		require.NoError(t, es.Close())
	})
}

// TestConnectingWaitIsCut checks that Close ends a wait of an hour at once.
func TestConnectingWaitIsCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &memTransport{at: make(chan time.Time, 16), answers: []func(*http.Request) (*http.Response, error){refuse}}
		errs := make(chan error, 16)
		es, err := eventsource.New("http://memory/", eventsource.Options{
			Client: &http.Client{Transport: tr}, RetryDelay: time.Hour,
			OnError: func(err error) { errs <- err },
		})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		_, err = es.Next(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, <-errs, "eventsource: cannot connect")
		start := time.Now()
		require.NoError(t, es.Close())
		assert.Zero(t, time.Since(start))
		assert.Len(t, tr.at, 1, "one attempt in the minute")
	})
}
