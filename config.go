package sse

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config configures a [Broker]. The zero value is usable.
type Config struct {
	// Room picks the room a request to [Broker.ServeHTTP] joins. An error
	// answers 400; an empty name joins no room (the client still gets
	// PublishAll, Broadcast and Send). Nil: r.PathValue("room"), which
	// needs the Broker mounted on a pattern with a {room} wildcard, such
	// as "GET /events/{room}": on any other route a request is answered
	// 500, and logged, rather than streamed no room at all.
	Room func(r *http.Request) (string, error)

	// HeartbeatInterval is the period of the keep-alive comment sent to
	// each client that was sent no event in the last period. Zero:
	// DefaultHeartbeatInterval; negative: no heartbeat.
	HeartbeatInterval time.Duration

	// Retry, when positive, is sent as the SSE retry field when a client
	// connects: how long a browser waits before reconnecting. Zero: a
	// delay drawn from [Limits.ReconnectDelay, 2*Limits.ReconnectDelay)
	// is sent instead, different for each client. New refuses a positive
	// Retry with OmitOpeningBlock.
	Retry time.Duration

	// OmitOpeningBlock opens every stream with nothing before its first
	// event: neither the retry hint nor, with History on, the position
	// block that lets a client dropped before its first event resume
	// exactly. The standard says a block without data dispatches
	// nothing, and browsers agree, but some clients (r3labs/sse,
	// tmaxmax/go-sse, donovanhide/eventsource) hand it to the
	// application as an empty event, and line-oriented parsers such as
	// moshpit's read it as a malformed event. Set it for those clients;
	// they then use their own reconnection delay, and a client dropped
	// before any event with an id reached it reconnects as a new one.
	OmitOpeningBlock bool

	// LenientAccept admits requests whose Accept header is missing or
	// only matches text/event-stream through a wildcard (curl sends
	// "*/*"). By default Accept must name text/event-stream, as
	// EventSource does, so that a link followed by a browser or a
	// crawler is answered 406 Not Acceptable instead of holding a
	// stream open.
	LenientAccept bool

	// Dense, on Linux, takes each plain HTTP/1.x stream's connection over
	// from net/http once Add has registered it (through Hijack): Add
	// sends the response head itself, with Connection: close and no
	// chunked encoding (the body ends with the connection), and
	// [Client.Serve] returns at once. The stream then has no goroutine of
	// its own while idle: a fixed pool of writers (half of GOMAXPROCS),
	// owned by the broker, writes whatever is queued without ever waiting
	// on a socket, and one goroutine watching every connection through
	// epoll notices a peer that hangs up, resets, or sends anything (a
	// pipelined request), and ends its stream. A stream costs about 4 KiB
	// instead of about 23. Use it for tens of thousands of streams, behind
	// a proxy that speaks HTTP/1.1 to this server.
	//
	// What changes for a handler: Serve returns nil at once, so a
	// handler that wants to know when the stream ends watches
	// [Client.Context] (the request's context is done as soon as the
	// handler returns), and Config.OnDisconnect is called on a goroutine
	// of the broker's. Middleware no longer sees the response: it is
	// written to the connection, not to the ResponseWriter, and
	// [net/http.Server.Shutdown] does not track it ([Broker.Shutdown]
	// waits for it). Everything else (ordering, replay, limits, write
	// timeouts, heartbeats, hooks, Stats, the backplane) is the same.
	//
	// Streams that cannot be taken over stay on the default path, on
	// their handler's goroutine: HTTP/2 and TLS, requests with a body, a
	// ResponseWriter that cannot hijack, and every stream on other
	// systems. A connection that hijacks but is not a plain TCP or Unix
	// socket (a listener's wrapper) is written by Serve, which then
	// returns when the stream ends.
	Dense bool

	// Header holds extra response headers for every stream, such as CORS
	// headers.
	Header http.Header

	// History turns on replay for clients that reconnect with a
	// Last-Event-ID. The zero value turns it off.
	History History

	// Limits bounds clients and their queues; see [Limits].
	Limits Limits

	// Backplane connects this broker to others so that they serve one
	// set of rooms; see [Backplane]. Nil: this broker works alone, in
	// process. Shutdown closes it.
	Backplane Backplane

	// Filters are named client filters for [Broker.BroadcastFilter].
	// Unlike the function given to [Broker.Broadcast], a named filter
	// works across a Backplane: every node must register the same names.
	// A filter runs on the publishing or delivering goroutine with no
	// lock held and must not block.
	Filters map[string]func(c *Client, arg string) bool

	// OnConnect is called by the handler goroutine in [Broker.Add], after
	// the client is registered and its replay queued.
	OnConnect func(c *Client)
	// OnDisconnect is called by the handler goroutine when [Client.Serve]
	// returns, after the client left every room.
	OnDisconnect func(c *Client, reason DisconnectReason)
	// OnReplayMiss is called by the handler goroutine in [Broker.Add] when
	// the client's Last-Event-ID cannot be replayed from; the client has
	// been sent a [ResyncEvent].
	OnReplayMiss func(c *Client, lastEventID string)
	// OnError is called with errors that have no caller to return to: a
	// failed write (on the handler goroutine, with its client) or a
	// panicking scheduled job (on the job's goroutine, with a nil client).
	OnError func(c *Client, err error)
	// Callbacks must not block: they run on the goroutine that streams to
	// a client. A callback that panics is recovered and logged.

	// Logger receives the broker's few log lines (never one per event).
	// Nil: nothing is logged.
	Logger *slog.Logger
}

// validate returns an error wrapping [ErrInvalidConfig] for the first
// field that cannot be used.
func (cfg *Config) validate() error {
	switch {
	case cfg.Retry < 0:
		return configError("Retry is negative (%v); zero picks a jittered hint", cfg.Retry)
	case cfg.Retry > 0 && cfg.OmitOpeningBlock:
		return configError("Retry is set, but OmitOpeningBlock sends no retry hint")
	case cfg.History.MaxAge < 0:
		return configError("History.MaxAge is negative (%v); zero keeps events until History.Size pushes them out", cfg.History.MaxAge)
	case cfg.History.MaxAge > 0 && cfg.History.Size <= 0:
		return configError("History.MaxAge is set but History.Size is not, so no history is kept")
	}
	for name, f := range cfg.Filters {
		if f == nil {
			return configError("Filters[%q] is nil", name)
		}
	}
	for k := range cfg.Header {
		if strings.EqualFold(k, "Content-Type") {
			return configError("Header sets Content-Type, which every stream sends as text/event-stream")
		}
	}
	return nil
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// defaultRoom is Config.Room's default: the {room} wildcard of the route.
func defaultRoom(r *http.Request) (string, error) {
	if !strings.Contains(r.Pattern, "{room}") && !strings.Contains(r.Pattern, "{room...}") {
		return "", errNoRoomWildcard
	}
	return r.PathValue("room"), nil
}
