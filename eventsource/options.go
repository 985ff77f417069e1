package eventsource

import (
	"errors"
	"net/http"
	"time"
)

// Defaults for the zero fields of [Options].
const (
	DefaultMaxEventSize  = 1 << 20          // 1 MiB
	DefaultRetryDelay    = 3 * time.Second  // the standard leaves it to the client; browsers use a few seconds
	DefaultMaxRetryDelay = 30 * time.Second // the cap of the back-off
)

// Options configures an [EventSource]. The zero value works: every zero
// field means the default its comment names. Options are read by [New]
// and not used after it returns, except for the hooks.
//
// The hooks (OnState, OnResponse, OnError, OnComment) are called one at a
// time on the EventSource's own goroutine, which reads the stream: they
// must return quickly, and must not call [EventSource.Close], which waits
// for that goroutine.
type Options struct {
	// Client sends the requests. Nil means http.DefaultClient. Its
	// Timeout must be zero, since a timeout would cut every stream
	// short; bound connecting with the Transport's timeouts instead.
	Client *http.Client

	// Header holds extra headers for every request, such as
	// Authorization. Accept, Cache-Control and Last-Event-ID are the
	// EventSource's own and replace any given here.
	Header http.Header

	// LastEventID is sent as the Last-Event-ID header of the first
	// request, to resume a stream where an earlier one stopped. Empty:
	// none, until the server sends an id.
	LastEventID string

	// MaxEventSize bounds an event: the sum of the lengths of its
	// block's field lines (data, event, id, retry and unknown fields;
	// comments and line ends excluded). Zero means
	// [DefaultMaxEventSize]. An event larger than that is skipped, not
	// dispatched: the error is reported to OnError as an
	// [*EventTooLargeError], its id (if it had one) still becomes the
	// last event ID, and the stream goes on. Skipping, rather than
	// failing the connection, is what keeps a client from reconnecting
	// with the id before the event, being sent the same event again,
	// and so on forever. At most about MaxEventSize bytes of an event
	// are held in memory.
	MaxEventSize int

	// RetryDelay is the reconnection time until the server sets one
	// with a retry field. Zero means [DefaultRetryDelay].
	RetryDelay time.Duration

	// MaxRetryDelay caps the exponential back-off while the server
	// keeps failing: each failed attempt in a row doubles the wait,
	// from the reconnection time up to MaxRetryDelay (but never below
	// the server's retry). Zero means [DefaultMaxRetryDelay].
	MaxRetryDelay time.Duration

	// RetryServerErrors makes a 5xx or 429 answer a reason to try again
	// later, with the back-off and at least the answer's Retry-After,
	// rather than the end. Off by default, as the standard says: any
	// answer other than 200 fails the connection for good.
	RetryServerErrors bool

	// NoReconnect makes the first end of the stream, or the first
	// network error, final: [EventSource.Next] then returns
	// [ErrStreamEnded] or the error. For streams that cannot be
	// resumed, such as a signal peer's, whose identity is its stream.
	NoReconnect bool

	// OnState, if set, is called with each new [State]: Connecting
	// before every attempt, Open when a stream has been accepted,
	// Closed at the end.
	OnState func(State)

	// OnResponse, if set, is called with the answer to every request,
	// whatever its status, before the EventSource checks it: to read its
	// status, protocol and headers (a request ID, a rate limit, why a
	// server refused). It must not read or close the Body, which the
	// EventSource reads and closes; the rest of the response may be
	// kept. A request that fails on the network has no answer and no
	// call.
	OnResponse func(*http.Response)

	// OnError, if set, is called with every error: those the
	// EventSource recovers from by reconnecting (a refused or broken
	// connection, [ErrStreamEnded]), a skipped [*EventTooLargeError],
	// and the one that ends it, which [EventSource.Next] also returns.
	OnError func(error)

	// OnComment, if set, is called with the text of every comment line
	// after its colon (a server's heartbeats, usually). Otherwise
	// comments are skipped.
	OnComment func(string)
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxEventSize < 0 || o.RetryDelay < 0 || o.MaxRetryDelay < 0 {
		return o, errors.New("eventsource: MaxEventSize, RetryDelay and MaxRetryDelay must not be negative")
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Client.Timeout != 0 {
		return o, errors.New("eventsource: the HTTP client has a Timeout, which would cut every stream short; set it to zero")
	}
	if o.MaxEventSize == 0 {
		o.MaxEventSize = DefaultMaxEventSize
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.MaxRetryDelay == 0 {
		o.MaxRetryDelay = DefaultMaxRetryDelay
	}
	o.Header = o.Header.Clone()
	return o, nil
}
