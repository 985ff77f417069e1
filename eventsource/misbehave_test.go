package eventsource_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/roomcast/sse/eventsource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests against a hand-written server that misbehaves, over real HTTP.

func TestReconnectsWithLastEventID(t *testing.T) {
	t.Parallel()
	s := newScript(t,
		stream("retry: 2\nid: 1\ndata: a\n\n"), // ends after one event
		stream("data: b\n\nid: 2\n\n"),         // an id-only block, then the end
		stream("data: c\n\nid\n\n"),            // an empty id resets it
		hold("event: last\ndata: d\n\n"))
	es := open(t, s.ts.URL, fast)

	assert.Equal(t, eventsource.Event{ID: "1", Type: "message", Data: "a", Retry: 2e6}, next(t, es))
	assert.Empty(t, s.request(t).Get("Last-Event-ID"), "first request")
	assert.Equal(t, eventsource.Event{ID: "1", Type: "message", Data: "b", Retry: 2e6}, next(t, es))
	assert.Equal(t, "1", s.request(t).Get("Last-Event-ID"))
	assert.Equal(t, eventsource.Event{ID: "2", Type: "message", Data: "c", Retry: 2e6}, next(t, es))
	assert.Equal(t, "2", s.request(t).Get("Last-Event-ID"), "set by the id-only block")
	assert.Equal(t, eventsource.Event{Type: "last", Data: "d", Retry: 2e6}, next(t, es))
	h := s.request(t)
	assert.NotContains(t, h, "Last-Event-ID", "reset by an empty id")
	assert.Equal(t, "text/event-stream", h.Get("Accept"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, "", es.LastEventID())
}

func TestFailsTheConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		check   func(t *testing.T, err error)
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "database down", http.StatusInternalServerError)
		}, func(t *testing.T, err error) {
			var se *eventsource.StatusError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, http.StatusInternalServerError, se.StatusCode)
			assert.Equal(t, "database down", se.Body)
			assert.EqualError(t, err, "eventsource: the server answered 500 Internal Server Error instead of a stream")
		}},
		{"204", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, eventsource.ErrNoContent)
		}},
		{"wrong Content-Type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("data: looks like a stream\n\n"))
		}, func(t *testing.T, err error) {
			var ce *eventsource.ContentTypeError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "text/html", ce.ContentType)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, tc.handler)
			states := newCollector[eventsource.State]()
			errs := newCollector[error]()
			opts := fast
			opts.OnState, opts.OnError = states.add, errs.add
			es := open(t, s.ts.URL, opts)
			err := end(t, es)
			tc.check(t, err)
			assert.Equal(t, err, end(t, es), "the same error again")
			assert.Equal(t, err, es.Err())
			assert.Equal(t, eventsource.Closed, es.State())
			assert.Equal(t, []eventsource.State{eventsource.Connecting, eventsource.Closed}, states.all())
			assert.Equal(t, []error{err}, errs.all())
			require.NoError(t, es.Close())
			assert.Equal(t, 1, s.count(), "no reconnection")
		})
	}
}

func TestRetryServerErrors(t *testing.T) {
	t.Parallel()
	s := newScript(t,
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		},
		func(w http.ResponseWriter, r *http.Request) { http.Error(w, "slow down", http.StatusTooManyRequests) },
		hold("data: ok\n\n"))
	errs := newCollector[error]()
	opts := fast
	opts.RetryServerErrors, opts.OnError = true, errs.add
	es := open(t, s.ts.URL, opts)
	assert.Equal(t, "ok", next(t, es).Data)
	var se *eventsource.StatusError
	require.ErrorAs(t, errs.wait(t), &se)
	assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
	require.ErrorAs(t, errs.wait(t), &se)
	assert.Equal(t, http.StatusTooManyRequests, se.StatusCode)

	// A 4xx other than 429 still ends it.
	s = newScript(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "who?", http.StatusUnauthorized) })
	es = open(t, s.ts.URL, opts)
	require.ErrorAs(t, end(t, es), &se)
	assert.Equal(t, http.StatusUnauthorized, se.StatusCode)
}

func TestLargeEventSkippedWithoutLooping(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1<<20) // 1 MiB: over the default limit with its "data: "
	s := newScript(t,
		stream("id: 1\ndata: small\n\nid: 2\ndata: "+big+"\n\ndata: after\n\n"),
		hold("data: last\n\n"))
	errs := newCollector[error]()
	opts := fast
	opts.OnError = errs.add
	es := open(t, s.ts.URL, opts)

	assert.Equal(t, "small", next(t, es).Data)
	assert.Equal(t, eventsource.Event{ID: "2", Type: "message", Data: "after", Retry: fast.RetryDelay}, next(t, es))
	var tl *eventsource.EventTooLargeError
	require.ErrorAs(t, errs.wait(t), &tl)
	assert.Equal(t, eventsource.EventTooLargeError{Limit: eventsource.DefaultMaxEventSize, Type: "message", LastEventID: "2"}, *tl)
	assert.Contains(t, tl.Error(), "larger than the limit of 1048576 bytes")
	require.ErrorIs(t, errs.wait(t), eventsource.ErrStreamEnded)

	assert.Equal(t, "last", next(t, es).Data)
	s.request(t)
	assert.Equal(t, "2", s.request(t).Get("Last-Event-ID"), "reconnects past the large event")
	assert.Equal(t, 2, s.count(), "no loop: the large event is not asked for again")

	// With a higher limit it arrives whole.
	s = newScript(t, hold("data: "+big+"\n\n"))
	opts.MaxEventSize = 2 << 20
	es = open(t, s.ts.URL, opts)
	assert.Equal(t, big, next(t, es).Data)
}

func TestStreamFormat(t *testing.T) {
	t.Parallel()
	s := newScript(t, hold("\uFEFF: hello\r\n"+
		"event: x\rdata: 1\r\r"+ // CR line ends
		"data: 2\ndata:\n\n"+ // LF; two data lines
		"event: lost\nid: 7\n\n"+ // no data: nothing dispatched, but the id counts
		":\r\n"+
		"data: 3\r\n\r\n")) // CRLF
	comments := newCollector[string]()
	opts := fast
	opts.OnComment = comments.add
	es := open(t, s.ts.URL, opts)
	r := fast.RetryDelay
	assert.Equal(t, eventsource.Event{Type: "x", Data: "1", Retry: r}, next(t, es))
	assert.Equal(t, eventsource.Event{Type: "message", Data: "2\n", Retry: r}, next(t, es))
	assert.Equal(t, eventsource.Event{ID: "7", Type: "message", Data: "3", Retry: r}, next(t, es))
	assert.Equal(t, []string{" hello", ""}, comments.all())
}

func TestHeadersAndInitialLastEventID(t *testing.T) {
	t.Parallel()
	s := newScript(t, hold("data: hi\n\n"))
	opts := fast
	opts.Header = map[string][]string{"Authorization": {"Bearer t"}, "Accept": {"text/html"}}
	opts.LastEventID = "41"
	es := open(t, s.ts.URL, opts)
	next(t, es)
	h := s.request(t)
	assert.Equal(t, "Bearer t", h.Get("Authorization"))
	assert.Equal(t, "41", h.Get("Last-Event-ID"))
	assert.Equal(t, []string{"text/event-stream"}, h["Accept"], "the EventSource's own")
}

func TestNoReconnect(t *testing.T) {
	t.Parallel()
	s := newScript(t, stream("data: only\n\n"))
	opts := fast
	opts.NoReconnect = true
	es := open(t, s.ts.URL, opts)
	assert.Equal(t, "only", next(t, es).Data)
	assert.ErrorIs(t, end(t, es), eventsource.ErrStreamEnded)
	assert.Equal(t, 1, s.count())

	// A network error ends it too.
	url := s.ts.URL
	s.ts.Close()
	es = open(t, url, opts)
	err := end(t, es)
	assert.ErrorContains(t, err, "eventsource: cannot connect")
	assert.False(t, errors.Is(err, eventsource.ErrStreamEnded))
}

func TestOnResponse(t *testing.T) {
	t.Parallel()
	s := newScript(t,
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Attempt", "1")
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		},
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Attempt", "2")
			hold("data: ok\n\n")(w, r)
		})
	type answer struct {
		status int
		proto  string
		header string
	}
	answers := newCollector[answer]()
	opts := fast
	opts.RetryServerErrors = true
	opts.OnResponse = func(resp *http.Response) {
		answers.add(answer{resp.StatusCode, resp.Proto, resp.Header.Get("X-Attempt")})
	}
	es := open(t, s.ts.URL, opts)
	assert.Equal(t, "ok", next(t, es).Data)
	assert.Equal(t, []answer{
		{http.StatusServiceUnavailable, "HTTP/1.1", "1"},
		{http.StatusOK, "HTTP/1.1", "2"},
	}, answers.all(), "every answer, the refused one too")

	// A 204 ends it, after the hook has seen it; a network error has
	// no answer and no call.
	s = newScript(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Why", "gone")
		w.WriteHeader(http.StatusNoContent)
	})
	var got *http.Response
	opts = fast
	opts.OnResponse = func(resp *http.Response) { got = resp }
	es = open(t, s.ts.URL, opts)
	require.ErrorIs(t, end(t, es), eventsource.ErrNoContent)
	require.NotNil(t, got, "the hook ran before Next returned")
	assert.Equal(t, http.StatusNoContent, got.StatusCode)
	assert.Equal(t, "gone", got.Header.Get("X-Why"))

	url := s.ts.URL
	s.ts.Close()
	called := false
	opts.NoReconnect = true
	opts.OnResponse = func(*http.Response) { called = true }
	es = open(t, url, opts)
	assert.ErrorContains(t, end(t, es), "eventsource: cannot connect")
	assert.False(t, called)
}
