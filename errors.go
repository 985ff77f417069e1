package sse

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by the broker. Compare with [errors.Is].
var (
	// ErrClosed is returned by every call made after [Broker.Shutdown] has
	// begun, and by the second and later calls of Shutdown itself.
	ErrClosed = errors.New("sse: broker closed")

	// ErrClientGone is returned when the target client's stream has ended.
	ErrClientGone = errors.New("sse: client gone")

	// ErrNotAcceptable is returned by [Broker.Add] when the request's
	// Accept header does not admit text/event-stream. Add has answered 406.
	ErrNotAcceptable = errors.New("sse: request does not accept text/event-stream")

	// ErrNoFlush is returned by [Broker.Add] when the ResponseWriter cannot
	// flush, so events could not be streamed.
	ErrNoFlush = errors.New("sse: response writer does not support flushing")

	// ErrInvalidRoom is returned for an empty room name, one longer than
	// [MaxRoomNameLen] bytes, one that is not valid UTF-8, or the reserved
	// name "*" where a concrete room is required.
	ErrInvalidRoom = errors.New("sse: invalid room name")

	// ErrInvalidEvent is wrapped by every [*EventError].
	ErrInvalidEvent = errors.New("sse: invalid event")
)

// EventError reports an Event field that cannot be encoded without
// changing its meaning on the wire. It wraps [ErrInvalidEvent].
type EventError struct {
	Field  string // "id", "event", "retry" or "" for the event as a whole
	Reason string
}

func (e *EventError) Error() string {
	if e.Field == "" {
		return "sse: invalid event: " + e.Reason
	}
	return fmt.Sprintf("sse: invalid event %s: %s", e.Field, e.Reason)
}

// Unwrap returns [ErrInvalidEvent].
func (e *EventError) Unwrap() error { return ErrInvalidEvent }

// LimitError reports that a configured limit turned a request away.
type LimitError struct {
	Limit string // the Limits field name, e.g. "MaxClients"
	Max   int    // its value
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("sse: limit %s (%d) reached", e.Limit, e.Max)
}
