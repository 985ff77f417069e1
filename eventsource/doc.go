// Package eventsource consumes server-sent event streams the way the
// WHATWG HTML standard's EventSource does, for Go services: it parses
// the text/event-stream format exactly (CR, LF and CRLF line ends, a
// leading BOM, comments, blocks without data, the "message" default
// type), reconnects after every end of the stream or network error with
// Last-Event-ID, and obeys the server's retry field.
//
//	es, err := eventsource.New("https://example.org/events", eventsource.Options{
//		Header: http.Header{"Authorization": {"Bearer " + token}},
//	})
//	if err != nil {
//		return err
//	}
//	defer es.Close()
//	for ev, err := range es.All(ctx) {
//		if err != nil {
//			return err // the stream is over for good
//		}
//		handle(ev.Type, ev.Data)
//	}
//
// # Reconnection
//
// After a stream ends or breaks, or an attempt fails on the network,
// the EventSource waits and reconnects, sending the last event ID (the
// last id field seen, from a block with data or without) as
// Last-Event-ID. The wait is the reconnection time (the server's last
// retry field, else [Options.RetryDelay]), doubled for each attempt in
// a row that delivered nothing, up to [Options.MaxRetryDelay], plus a
// random jitter of up to half of it. These answers end it for good, as
// the standard says: 204 No Content ([ErrNoContent]), any other status
// but 200 ([*StatusError]; with [Options.RetryServerErrors], 5xx and
// 429 are retried instead, waiting at least Retry-After), and a
// Content-Type other than text/event-stream ([*ContentTypeError]).
//
// # Large events
//
// An event larger than [Options.MaxEventSize] (1 MiB by default) is
// skipped and reported to [Options.OnError] as an
// [*EventTooLargeError]; the stream goes on, and the skipped event's id
// still counts. Clients that fail the connection on a large line
// instead reconnect with the previous id, are sent the same event, and
// loop forever.
//
// # Concurrency
//
// One goroutine per EventSource, started by the first [EventSource.Next],
// reads the stream and waits for the reader: an event not yet taken by
// Next holds the stream back, as a slow reader should. [EventSource.Close]
// stops it and waits for it. The hooks of [Options] run on it.
package eventsource
