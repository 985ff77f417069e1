package sse

import (
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/xid"
)

// ServeHTTP streams events to the request: it adds a client in the room
// chosen by Config.Room and serves it until it goes.
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, err := b.cfg.Room(r)
	if errors.Is(err, errNoRoomWildcard) {
		if !b.noRoom.Swap(true) {
			b.log.Error(err.Error(), "pattern", r.Pattern, "path", r.URL.Path)
		}
		http.Error(w, "500 internal server error: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if err != nil {
		http.Error(w, "400 bad request: bad room: "+err.Error(), http.StatusBadRequest)
		return
	}
	var rooms []string
	if name != "" {
		rooms = []string{name}
	}
	c, err := b.Add(w, r, rooms...)
	if err != nil {
		return
	}
	_ = c.Serve()
}

// Add registers a client for the request, joins it to rooms, queues its
// replay, sends the stream's headers at once, and returns. Nothing may
// have written to the response before (a middleware's WriteHeader would
// send its head instead of the stream's, which net/http does not let Add
// detect). The handler must then call [Client.Serve]; a handler that
// returns (or panics) without calling it ends the stream, as if its peer
// had gone. On error Add has already answered the request (204 after
// Shutdown, 400 for a bad room, 406 for a bad Accept header, 503 over
// MaxClients, the headers alone for HEAD) and the handler should just
// return.
func (b *Broker) Add(w http.ResponseWriter, r *http.Request, rooms ...string) (*Client, error) {
	var (
		c    *Client
		miss bool
		err  error
	)
	// On a helper, as net/http's first flush and the allocations here
	// would grow the handler's stack for good (see offload).
	b.helpers.run(func() { c, miss, err = b.add(w, r, rooms) })
	if err != nil {
		return nil, err
	}
	if miss {
		b.stats.replayMisses.Add(1)
		if f := b.cfg.OnReplayMiss; f != nil {
			b.callback("OnReplayMiss", func() { f(c, c.lastEventID) })
		}
	}
	if f := b.cfg.OnConnect; f != nil {
		b.callback("OnConnect", func() { f(c) })
	}
	// After OnConnect, so that nothing can end the stream before it.
	if t := c.taken.Load(); t == nil || !c.handOn(t) {
		c.watch()
	}
	return c, nil
}

// add is Add but for its callbacks; it reports a replay miss.
func (b *Broker) add(w http.ResponseWriter, r *http.Request, rooms []string) (*Client, bool, error) {
	if b.isClosed() {
		w.WriteHeader(http.StatusNoContent)
		return nil, false, ErrClosed
	}
	if !acceptsEventStream(r.Header.Values("Accept"), b.cfg.LenientAccept) {
		http.Error(w, "406 not acceptable: Accept must include text/event-stream", http.StatusNotAcceptable)
		return nil, false, ErrNotAcceptable
	}
	if _, twice := w.Header()[addedHeader]; twice {
		// The response is a stream already: nothing may be written.
		return nil, false, ErrAddedTwice
	}
	if r.Method == http.MethodHead {
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		return nil, false, ErrHeadRequest
	}
	rooms = slices.Clone(rooms)
	slices.Sort(rooms)
	rooms = slices.Compact(rooms)
	for _, name := range rooms {
		if err := checkRoom(name); err != nil {
			http.Error(w, "400 bad request: invalid room name", http.StatusBadRequest)
			return nil, false, err
		}
	}
	if max := b.limits.MaxRoomsPerClient; max > 0 && len(rooms) > max {
		http.Error(w, "400 bad request: too many rooms", http.StatusBadRequest)
		return nil, false, &LimitError{Limit: "MaxRoomsPerClient", Max: max}
	}
	n := b.nclients.Add(1)
	if max := b.limits.MaxClients; max > 0 && n > int64(max) {
		b.nclients.Add(-1)
		b.stats.rejected.Add(1)
		secs := int64((jitter(b.limits.ReconnectDelay) + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		http.Error(w, "503 service unavailable: too many clients", http.StatusServiceUnavailable)
		return nil, false, &LimitError{Limit: "MaxClients", Max: max}
	}

	c := &Client{
		id:   xid.New().String(),
		b:    b,
		w:    w,
		rc:   http.NewResponseController(w),
		req:  r,
		wake: make(chan struct{}, 1),
	}
	c.lastEventID = r.Header.Get("Last-Event-ID")
	if c.lastEventID == "" {
		c.lastEventID = r.URL.Query().Get("lastEventId")
	}
	if r.ProtoMajor == 1 && r.ContentLength != 0 && c.rc.EnableFullDuplex() == nil {
		// net/http reads up to 256 KiB of an unread request body before
		// the first response bytes, with no deadline: a client that
		// declares a body it never sends would hang the stream's opening
		// for good. Full duplex leaves the body to us.
		c.drainBody()
	}

	// Register before the headers go out, so that a client that has seen
	// the response start is sure to get every later event.
	miss, err := b.register(c, rooms)
	if err != nil {
		b.nclients.Add(-1)
		w.WriteHeader(http.StatusNoContent)
		return nil, false, err
	}
	// Undo the registration unless the stream opens, even when a
	// middleware's ResponseWriter panics.
	opened := false
	defer func() {
		if !opened {
			c.close(ReasonClientGone)
			b.unregister(c)
			c.endBody()
			b.wg.Done()
		}
	}()
	h := w.Header()
	for k, v := range b.cfg.Header {
		h[k] = slices.Clone(v)
	}
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	switch {
	case c.bodyDone != nil:
		// The body's bytes may never all arrive: the connection cannot
		// be trusted for another request.
		h.Set("Connection", "close")
	case r.ProtoMajor == 1:
		h.Set("Connection", "keep-alive")
	}
	taken := false
	if b.canTake(c) {
		taken, err = b.takeOver(c, w)
	}
	if !taken {
		w.WriteHeader(http.StatusOK)
		if !b.cfg.OmitOpeningBlock {
			_, _ = w.Write(b.opening(c))
		}
		err = c.rc.Flush()
	}
	if err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			return nil, false, ErrNoFlush
		}
		return nil, false, err
	}
	opened = true
	// A mark for a second Add on this response. Headers set once the head
	// is out are not sent (net/http sends only declared trailers), and
	// the value is shared: it costs no allocation.
	w.Header()[addedHeader] = addedValue
	if c.holding {
		miss = b.replayRemote(c, rooms)
	}
	return c, miss, nil
}

// addedHeader marks a response that Add has made a stream of.
const addedHeader = "Sse-Stream-Added"

var addedValue = []string{"1"}

// opening is the one data-less block that starts a stream: a retry hint
// (Config.Retry, or a delay drawn around Limits.ReconnectDelay, so that
// clients dropped together by a slow network or a restart do not come
// back in the same instant) and, for a new client while events are kept,
// its position, so that even a client dropped before its first event
// resumes exactly.
func (b *Broker) opening(c *Client) []byte {
	retry := b.cfg.Retry
	if retry <= 0 {
		retry = jitter(b.limits.ReconnectDelay)
	}
	p := appendRetry(make([]byte, 0, 48), retry)
	if c.start != 0 {
		p = appendID(p, formatPosition(c.start))
	}
	return append(p, '\n')
}

// acceptsEventStream reports whether the Accept header values admit
// text/event-stream: named explicitly, or, when lenient, through a
// wildcard or by a missing header.
func acceptsEventStream(values []string, lenient bool) bool {
	if len(values) == 0 {
		return lenient
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			switch mt {
			case "text/event-stream":
				return true
			case "*/*", "text/*":
				if lenient {
					return true
				}
			}
		}
	}
	return false
}
