package eventsource

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/roomcast/sse/internal/sseread"
)

// final marks an error that ends the EventSource: no reconnection.
type final struct{ err error }

func (f final) Error() string { return f.err.Error() }
func (f final) Unwrap() error { return f.err }

// run is the EventSource's goroutine: connect, read, wait, reconnect.
func (es *EventSource) run() {
	err := es.loop()
	if !errors.Is(err, ErrClosed) {
		es.report(err)
	}
	es.mu.Lock()
	es.err = err
	es.mu.Unlock()
	es.setState(Closed)
	close(es.finished)
}

func (es *EventSource) loop() error {
	failures := 0
	for {
		es.setState(Connecting)
		delivered, wait, err := es.connect()
		if es.ctx.Err() != nil {
			return ErrClosed
		}
		var f final
		if errors.As(err, &f) {
			return f.err
		}
		if es.opts.NoReconnect {
			return err
		}
		es.report(err)
		if delivered {
			failures = 0
		}
		es.mu.Lock()
		retry := es.retry
		es.mu.Unlock()
		wait = max(wait, backoff(retry, es.opts.MaxRetryDelay, failures))
		failures++
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-es.ctx.Done():
			t.Stop()
			return ErrClosed
		}
	}
}

// connect makes one attempt: the request, the checks of the answer, then
// the stream until it ends. It reports whether the stream delivered
// anything, the least wait the server asked for (Retry-After), and why
// the attempt ended, wrapped in final if it must not be retried.
func (es *EventSource) connect() (delivered bool, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(es.ctx, http.MethodGet, es.url, nil)
	if err != nil {
		return false, 0, final{fmt.Errorf("eventsource: %w", err)}
	}
	req.Header = es.opts.Header.Clone()
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	if id := es.LastEventID(); id != "" {
		req.Header.Set("Last-Event-ID", id)
	} else {
		req.Header.Del("Last-Event-ID")
	}
	resp, err := es.opts.Client.Do(req)
	if err != nil {
		return false, 0, fmt.Errorf("eventsource: cannot connect: %w", err)
	}
	defer resp.Body.Close()
	if es.opts.OnResponse != nil {
		es.opts.OnResponse(resp)
	}
	if err := es.check(resp); err != nil {
		var se *StatusError
		if es.opts.RetryServerErrors && errors.As(err, &se) &&
			(se.StatusCode/100 == 5 || se.StatusCode == http.StatusTooManyRequests) {
			return false, retryAfter(resp.Header, time.Now()), err
		}
		return false, 0, final{err}
	}
	es.setState(Open)
	delivered, err = es.read(resp.Body)
	return delivered, 0, err
}

// check applies the standard's tests to an answer.
func (es *EventSource) check(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNoContent:
		return ErrNoContent
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return &StatusError{StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/event-stream" {
		return &ContentTypeError{ContentType: ct}
	}
	return nil
}

// read dispatches a stream's events until it ends.
func (es *EventSource) read(body io.Reader) (delivered bool, err error) {
	r := sseread.NewReader(body, 0)
	r.SetMaxEvent(es.opts.MaxEventSize)
	r.SetLastEventID(es.LastEventID())
	for {
		it, err := r.Next()
		es.mu.Lock()
		es.lastID = r.LastEventID() // id-only blocks set it without an item
		retry := es.retry
		es.mu.Unlock()
		switch {
		case errors.Is(err, io.EOF):
			return delivered, ErrStreamEnded
		case err != nil:
			return delivered, fmt.Errorf("eventsource: the stream broke: %w", err)
		}
		switch it.Kind {
		case sseread.KindEvent:
			delivered = true
			select {
			case es.events <- Event{ID: it.LastEventID, Type: it.Type, Data: it.Data, Retry: retry}:
			case <-es.ctx.Done():
				return delivered, ErrClosed
			}
		case sseread.KindRetry:
			es.mu.Lock()
			es.retry = retryField(it.Retry)
			es.mu.Unlock()
		case sseread.KindComment:
			if es.opts.OnComment != nil {
				es.opts.OnComment(it.Comment)
			}
		case sseread.KindTooLarge:
			delivered = true
			es.report(&EventTooLargeError{Limit: es.opts.MaxEventSize, Type: it.Type, LastEventID: it.LastEventID})
		}
	}
}

func (es *EventSource) report(err error) {
	if es.opts.OnError != nil && err != nil {
		es.opts.OnError(err)
	}
}

func (es *EventSource) setState(s State) {
	es.mu.Lock()
	changed := es.state != s || !es.announced
	es.state, es.announced = s, true
	es.mu.Unlock()
	if changed && es.opts.OnState != nil {
		es.opts.OnState(s)
	}
}
