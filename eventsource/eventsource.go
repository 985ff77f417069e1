package eventsource

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"sync"
	"time"
)

// Event is one dispatched event.
type Event struct {
	// ID is the stream's last event ID when the event was dispatched:
	// the event's own id, or the last one before it, on this stream or
	// an earlier one (browsers carry it over when they reconnect, and so
	// does this package). It is what the EventSource sends as
	// Last-Event-ID when it reconnects.
	ID string
	// Type is the event's type, "message" if it named none.
	Type string
	// Data is the event's data, its data lines joined by "\n".
	Data string
	// Retry is the stream's reconnection time when the event was
	// dispatched: the last retry field the server sent, or
	// Options.RetryDelay.
	Retry time.Duration
}

// EventSource reads a server-sent event stream and reconnects to it as
// the WHATWG standard's EventSource does. Create one with [New], read
// events with [EventSource.Next] or [EventSource.All], and call
// [EventSource.Close] when done. Its methods are safe for concurrent
// use; each event goes to one caller of Next.
type EventSource struct {
	url  string
	opts Options

	ctx    context.Context // canceled by Close; every request is bound to it
	cancel context.CancelFunc

	events   chan Event    // unbuffered: reading waits for the reader
	finished chan struct{} // closed when the goroutine has stopped

	mu      sync.Mutex
	started bool
	closed  bool
	lastID  string
	retry   time.Duration
	state   State
	// announced: OnState has been called once (with the first
	// Connecting, which is also the initial state).
	announced bool
	err       error // why it stopped, once finished is closed
}

// New returns an EventSource for rawURL, an http or https URL. It
// validates its arguments and does no I/O: the first request is sent by
// the first call to Next (or All), and then reconnections follow as the
// standard says until Close or an error that ends the stream for good.
func New(rawURL string, opts Options) (*EventSource, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("eventsource: %q is not an http or https URL", rawURL)
	}
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &EventSource{
		url:      u.String(),
		opts:     opts,
		ctx:      ctx,
		cancel:   cancel,
		events:   make(chan Event),
		finished: make(chan struct{}),
		lastID:   opts.LastEventID,
		retry:    opts.RetryDelay,
	}, nil
}

// Next returns the next event, waiting for it as long as ctx allows. It
// returns ctx's error when ctx ends first (the stream goes on: a later
// Next gets the next event), [ErrClosed] after Close, or the error that
// ended the EventSource for good: [ErrNoContent], a [*StatusError], a
// [*ContentTypeError], or under Options.NoReconnect [ErrStreamEnded] or
// a network error. Errors the EventSource recovers from go to
// Options.OnError, not here.
func (es *EventSource) Next(ctx context.Context) (Event, error) {
	es.start()
	select {
	case ev := <-es.events:
		return ev, nil
	case <-es.finished:
		return Event{}, es.Err()
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// All returns an iterator over the events, for a range loop. It yields
// each event with a nil error; when Next fails it yields the error once
// and stops, except for [ErrClosed]: after Close it stops quietly.
// Breaking out of the loop leaves the EventSource open.
func (es *EventSource) All(ctx context.Context) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			ev, err := es.Next(ctx)
			if errors.Is(err, ErrClosed) {
				return
			}
			if err != nil {
				yield(Event{}, err)
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// Close stops the EventSource: it ends the request or the wait in
// progress and returns once its goroutine has stopped. Next then returns
// [ErrClosed] (or the error that had already ended it). Close is
// idempotent and always returns nil. It must not be called from one of
// the Options hooks, which run on the goroutine it waits for.
func (es *EventSource) Close() error {
	es.mu.Lock()
	if es.closed {
		es.mu.Unlock()
		<-es.finished
		return nil
	}
	es.closed = true
	if !es.started {
		es.err = ErrClosed
		es.state = Closed
		close(es.finished)
	}
	es.mu.Unlock()
	es.cancel()
	<-es.finished
	return nil
}

// LastEventID returns the stream's last event ID, which the next
// reconnection sends; keep it to resume in another process with
// Options.LastEventID. An id-only block (without data) sets it too.
func (es *EventSource) LastEventID() string {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.lastID
}

// State returns where the EventSource stands; Options.OnState reports
// each change as it happens.
func (es *EventSource) State() State {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.state
}

// Err returns the error that ended the EventSource, or nil while it
// runs.
func (es *EventSource) Err() error {
	select {
	case <-es.finished:
	default:
		return nil
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.err
}

// start starts the goroutine once, unless Close came first.
func (es *EventSource) start() {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.started || es.closed {
		return
	}
	es.started = true
	go es.run()
}
