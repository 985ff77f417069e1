package eventsource

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

var (
	// ErrClosed is returned by [EventSource.Next] after
	// [EventSource.Close].
	ErrClosed = errors.New("eventsource: closed")

	// ErrNoContent ends an EventSource whose server answered 204 No
	// Content: the standard's way for a server to say "do not
	// reconnect".
	ErrNoContent = errors.New("eventsource: the server answered 204 No Content, which means the stream is over")

	// ErrStreamEnded is reported to Options.OnError when the server
	// ends a stream (the EventSource then reconnects), and returned by
	// [EventSource.Next] for it under Options.NoReconnect.
	ErrStreamEnded = errors.New("eventsource: the server ended the stream")
)

// StatusError ends an EventSource whose server answered a status other
// than 200 OK (and 204, [ErrNoContent]). Under Options.RetryServerErrors
// a 5xx or 429 answer is reported to Options.OnError and retried instead.
type StatusError struct {
	StatusCode int
	// Body is the start of the answer's body (up to 1 KiB), which often
	// says why.
	Body string
}

func (e *StatusError) Error() string {
	return "eventsource: the server answered " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode) + " instead of a stream"
}

// ContentTypeError ends an EventSource whose server answered 200 OK with
// something other than text/event-stream, as the standard says.
type ContentTypeError struct {
	ContentType string // the answer's Content-Type header
}

func (e *ContentTypeError) Error() string {
	return fmt.Sprintf("eventsource: the server answered with Content-Type %q, not text/event-stream", e.ContentType)
}

// EventTooLargeError is reported to Options.OnError for an event larger
// than Options.MaxEventSize, which was skipped; the stream goes on.
type EventTooLargeError struct {
	Limit       int    // Options.MaxEventSize
	Type        string // the skipped event's type
	LastEventID string // the last event ID after it (its own id, if it had one)
}

func (e *EventTooLargeError) Error() string {
	return fmt.Sprintf("eventsource: skipped a %q event larger than the limit of %d bytes (last event ID %q); raise Options.MaxEventSize to receive it",
		e.Type, e.Limit, e.LastEventID)
}
