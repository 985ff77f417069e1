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

	// ErrHeadRequest is returned by [Broker.Add] for a HEAD request: a
	// stream's response has a body, which HEAD asks not to be sent. Add
	// has answered with the stream's headers and no body.
	ErrHeadRequest = errors.New("sse: a HEAD request gets a stream's headers, not a stream")

	// ErrAddedTwice is returned by a second call of [Broker.Add] for one
	// request: the first made its response a stream, which the second
	// leaves alone.
	ErrAddedTwice = errors.New("sse: Add was called twice for one request")

	// ErrServedTwice is returned by a second call of [Client.Serve] for
	// one client; the stream is served by the first.
	ErrServedTwice = errors.New("sse: Serve was called twice for one client")

	// ErrNoFlush is returned by [Broker.Add] when the ResponseWriter cannot
	// flush, so events could not be streamed.
	ErrNoFlush = errors.New("sse: response writer does not support flushing")

	// ErrInvalidRoom is returned for an empty room name, one longer than
	// [MaxRoomNameLen] bytes, one that is not valid UTF-8, or the reserved
	// name "*" where a concrete room is required.
	ErrInvalidRoom = errors.New("sse: invalid room name")

	// ErrInvalidEvent is wrapped by every [*EventError].
	ErrInvalidEvent = errors.New("sse: invalid event")

	// ErrInvalidConfig is wrapped by the error [New] returns for a Config
	// it cannot use; the error names the field.
	ErrInvalidConfig = errors.New("sse: invalid config")

	// ErrUncertain is wrapped by the error of a publish whose outcome is
	// not known: the [Backplane] failed or timed out after the event may
	// have been sent, so it may have reached every node, some, or none.
	// Retrying may deliver it twice. Every other publish error means the
	// event was not published at all, and a retry cannot duplicate it.
	ErrUncertain = errors.New("sse: the event may or may not have been published")

	// errNoRoomWildcard answers a request to a Broker mounted on a route
	// without a {room} wildcard while Config.Room is the default.
	errNoRoomWildcard = errors.New("sse: the route has no {room} wildcard; mount the Broker on a pattern such as \"GET /events/{room}\", or set Config.Room")
)

// EventError reports an Event field that cannot be encoded without
// changing its meaning on the wire. It wraps [ErrInvalidEvent].
type EventError struct {
	Field  string // "id", "name", "data", "retry" or "" for the event as a whole
	Reason string // what is wrong with it, e.g. "contains a line break"
}

func (e *EventError) Error() string {
	if e.Field == "" {
		return "sse: event " + e.Reason
	}
	return "sse: event " + e.Field + " " + e.Reason
}

// Unwrap returns [ErrInvalidEvent].
func (e *EventError) Unwrap() error { return ErrInvalidEvent }

// LimitError reports that a configured limit turned a request away.
type LimitError struct {
	Limit string // the Limits field name, e.g. "MaxClients"
	Max   int    // its value
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case "QueueBytes":
		return fmt.Sprintf("sse: the event is larger than Limits.QueueBytes (%d bytes), so no client could queue it", e.Max)
	case "MaxClients":
		return fmt.Sprintf("sse: too many clients (Limits.MaxClients is %d)", e.Max)
	case "MaxRoomsPerClient":
		return fmt.Sprintf("sse: too many rooms for one client (Limits.MaxRoomsPerClient is %d)", e.Max)
	case "QueueEvents/QueueBytes":
		return fmt.Sprintf("sse: the client read too slowly and its queue overflowed (Limits.QueueEvents is %d)", e.Max)
	}
	return fmt.Sprintf("sse: Limits.%s (%d) reached", e.Limit, e.Max)
}
