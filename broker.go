package sse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/xid"
)

// Lock order: Broker.mu, then room.mu (the all-clients room first, then
// rooms by name), then Client.mu. No lock is held while writing to the
// network or calling a user callback.

// ResyncEvent is the name of the event sent to a client that reconnects
// with a Last-Event-ID the broker can no longer replay from (unknown, or
// older than the history kept). Its data is {"lastEventId": "<the id>"}.
// The client should fetch a fresh state; [Config.OnReplayMiss] tells the
// application at the same moment.
const ResyncEvent = "resync"

// Config configures a [Broker]. The zero value is usable.
type Config struct {
	// Room picks the room a request to [Broker.ServeHTTP] joins. An error
	// answers 400. Nil: r.PathValue("room"); an empty name joins no room
	// (the client still gets PublishAll, Broadcast and Send).
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

	// LenientAccept admits requests whose Accept header is missing or
	// only matches text/event-stream through a wildcard (curl sends
	// "*/*"). By default Accept must name text/event-stream, as
	// EventSource does; other requests get 406 Not Acceptable.
	LenientAccept bool

	// OmitOpeningBlock opens the stream with nothing before the first
	// event: no retry hint and no position, so the client's own
	// reconnection delay applies. It is for clients that turn a
	// data-less block into an empty event (r3labs/sse, tmaxmax/go-sse,
	// donovanhide/eventsource), and for line parsers like moshpit's that
	// read every block as an event and a line of data. False: every
	// stream opens with one block holding the retry hint.
	OmitOpeningBlock bool

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

// Broker manages clients, rooms, heartbeats and schedules. It is an
// [http.Handler]. Create one with [New]; all methods are safe for
// concurrent use.
type Broker struct {
	cfg    Config
	limits Limits
	log    *slog.Logger
	beat   time.Duration

	mu      sync.RWMutex
	closed  bool
	rooms   map[string]*room
	clients map[string]*Client
	all     *room // every client; the history of PublishAll

	seq      atomic.Uint64
	nclients atomic.Int64
	stats    counters

	bp        Backplane
	histSize  int // Config.History.Size as given; with a backplane, history is kept there
	done      chan struct{}
	wg        sync.WaitGroup // handlers between Add and the end of Serve
	bg        sync.WaitGroup // heartbeat and sweeping
	closeOnce sync.Once

	cronMu    sync.Mutex
	cron      *cron.Cron
	jobCtx    context.Context
	jobCancel context.CancelFunc
}

// New returns a running Broker. It returns an error for an invalid
// Config.
func New(cfg Config) (*Broker, error) {
	if cfg.Retry < 0 {
		return nil, &EventError{Field: "retry", Reason: "negative Config.Retry"}
	}
	if cfg.Retry > 0 && cfg.OmitOpeningBlock {
		return nil, &EventError{Field: "retry", Reason: "Config.Retry is set, but Config.OmitOpeningBlock sends no retry hint"}
	}
	if cfg.History.MaxAge < 0 {
		return nil, &EventError{Reason: "negative History.MaxAge"}
	}
	b := &Broker{
		cfg:      cfg,
		limits:   cfg.Limits.withDefaults(),
		log:      cfg.Logger,
		rooms:    make(map[string]*room),
		clients:  make(map[string]*Client),
		bp:       cfg.Backplane,
		histSize: cfg.History.Size,
		done:     make(chan struct{}),
	}
	if b.bp != nil {
		// History lives in the backplane, shared by every node.
		b.cfg.History = History{}
	}
	b.all = newRoom("*", b.cfg.History)
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.cfg.Room == nil {
		b.cfg.Room = func(r *http.Request) (string, error) { return r.PathValue("room"), nil }
	}
	b.beat = cfg.HeartbeatInterval
	if b.beat == 0 {
		b.beat = DefaultHeartbeatInterval
	}
	// Sequence numbers start from the clock so that ids handed out by a
	// restarted process do not repeat those of the previous one.
	b.seq.Store(uint64(time.Now().UnixMicro()))
	b.jobCtx, b.jobCancel = context.WithCancel(context.Background())
	if b.bp != nil {
		if err := b.bp.Attach(b.deliver, cfg.History); err != nil {
			b.jobCancel()
			return nil, fmt.Errorf("sse: attach backplane: %w", err)
		}
	}
	b.startBackground()
	return b, nil
}

// ServeHTTP streams events to the request: it adds a client in the room
// chosen by Config.Room and serves it until it goes.
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, err := b.cfg.Room(r)
	if err != nil {
		http.Error(w, "bad room: "+err.Error(), http.StatusBadRequest)
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
// replay, sends the stream's headers at once, and returns. The handler
// must then call [Client.Serve]. On error Add has already answered the
// request (204 after Shutdown, 400 for a bad room, 406 for a bad Accept
// header, 503 over MaxClients) and the handler should just return.
func (b *Broker) Add(w http.ResponseWriter, r *http.Request, rooms ...string) (*Client, error) {
	if b.isClosed() {
		w.WriteHeader(http.StatusNoContent)
		return nil, ErrClosed
	}
	if !acceptsEventStream(r.Header.Values("Accept"), b.cfg.LenientAccept) {
		http.Error(w, "406 not acceptable: Accept must include text/event-stream", http.StatusNotAcceptable)
		return nil, ErrNotAcceptable
	}
	rooms = slices.Clone(rooms)
	slices.Sort(rooms)
	rooms = slices.Compact(rooms)
	for _, name := range rooms {
		if err := checkRoom(name); err != nil {
			http.Error(w, "400 bad request: invalid room name", http.StatusBadRequest)
			return nil, err
		}
	}
	if max := b.limits.MaxRoomsPerClient; max > 0 && len(rooms) > max {
		http.Error(w, "400 bad request: too many rooms", http.StatusBadRequest)
		return nil, &LimitError{Limit: "MaxRoomsPerClient", Max: max}
	}
	n := b.nclients.Add(1)
	if max := b.limits.MaxClients; max > 0 && n > int64(max) {
		b.nclients.Add(-1)
		b.stats.rejected.Add(1)
		secs := int64((jitter(b.limits.ReconnectDelay) + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		http.Error(w, "503 service unavailable: too many clients", http.StatusServiceUnavailable)
		return nil, &LimitError{Limit: "MaxClients", Max: max}
	}

	c := &Client{
		id:    xid.New().String(),
		b:     b,
		w:     w,
		rc:    http.NewResponseController(w),
		req:   r,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		rooms: make(map[string]struct{}, len(rooms)),
	}
	c.lastEventID = r.Header.Get("Last-Event-ID")
	if c.lastEventID == "" {
		c.lastEventID = r.URL.Query().Get("lastEventId")
	}

	// Register before the headers go out, so that a client that has seen
	// the response start is sure to get every later event.
	miss, err := b.register(c, rooms)
	if err != nil {
		b.nclients.Add(-1)
		w.WriteHeader(http.StatusNoContent)
		return nil, err
	}
	h := w.Header()
	for k, v := range b.cfg.Header {
		h[k] = slices.Clone(v)
	}
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		h.Set("Connection", "keep-alive")
	}
	w.WriteHeader(http.StatusOK)
	// Every stream starts with a retry hint, unless OmitOpeningBlock:
	// Config.Retry, or a delay drawn around Limits.ReconnectDelay, so
	// that clients dropped together (by a slow network, a restart) do not
	// come back in the same instant.
	if !b.cfg.OmitOpeningBlock {
		retry := b.cfg.Retry
		if retry <= 0 {
			retry = jitter(b.limits.ReconnectDelay)
		}
		_, _ = w.Write(append(appendRetry(nil, retry), '\n'))
	}
	if err := c.rc.Flush(); err != nil {
		c.close(ReasonClientGone)
		b.unregister(c)
		b.wg.Done()
		if errors.Is(err, http.ErrNotSupported) {
			return nil, ErrNoFlush
		}
		return nil, err
	}
	if c.holding {
		miss = b.replayRemote(c, rooms)
	}
	if miss {
		b.stats.replayMisses.Add(1)
		c.enqueue(queued{p: resync(c.lastEventID), event: true})
		if f := b.cfg.OnReplayMiss; f != nil {
			b.callback("OnReplayMiss", func() { f(c, c.lastEventID) })
		}
	}
	if f := b.cfg.OnConnect; f != nil {
		b.callback("OnConnect", func() { f(c) })
	}
	return c, nil
}

// register makes c visible to publishers: in the broker, the all-clients
// room and its rooms, with the events it missed queued first. All those
// rooms are locked together, so no event is both replayed and delivered
// live, and none falls between the two.
func (b *Broker) register(c *Client, names []string) (miss bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false, ErrClosed
	}
	rs := make([]*room, 0, len(names)+1)
	rs = append(rs, b.all)
	for _, name := range names {
		rs = append(rs, b.roomLocked(name))
	}
	for _, r := range rs {
		r.mu.Lock()
	}
	if b.bp != nil && c.lastEventID != "" && b.histSize > 0 {
		// The replay comes from the backplane once the locks are
		// released; live events wait in c.held meanwhile.
		c.holding = true
	} else if b.all.hist.on() && c.lastEventID != "" {
		var replay []histEntry
		replay, miss = b.replayLocked(rs, c.lastEventID)
		for _, e := range replay {
			c.queue = append(c.queue, queued{p: e.p, event: true, id: e.id})
			c.qbytes += len(e.p)
		}
		c.extra, c.extraBytes = len(c.queue), c.qbytes
		if len(replay) > 0 {
			b.stats.replayed.Add(uint64(len(replay)))
			c.wake <- struct{}{}
		}
	}
	for _, r := range rs {
		r.add(c)
		if r != b.all {
			c.rooms[r.name] = struct{}{}
		}
		r.mu.Unlock()
	}
	b.clients[c.id] = c
	b.wg.Add(1)
	return miss, nil
}

// replayRemote fetches c's replay from the backplane and queues it ahead
// of the live events held meanwhile. It reports a miss.
func (b *Broker) replayRemote(c *Client, rooms []string) (miss bool) {
	names := append([]string{"*"}, rooms...)
	ctx, cancel := context.WithTimeout(c.Context(), b.limits.WriteTimeout)
	defer cancel()
	msgs, err := b.bp.Replay(ctx, names, c.lastEventID)
	if err != nil {
		if !errors.Is(err, ErrReplayMiss) {
			b.log.Warn("sse: backplane replay failed", "error", err)
			b.hookError(c, err)
		}
		c.release(nil)
		return true
	}
	replay := make([]queued, len(msgs))
	for i, m := range msgs {
		p := make([]byte, 0, len(m.ID)+5+len(m.Event))
		replay[i] = queued{p: append(appendID(p, m.ID), m.Event...), event: true, id: m.ID}
	}
	b.stats.replayed.Add(uint64(len(replay)))
	c.release(replay)
	return false
}

// resync encodes the ResyncEvent for a client whose Last-Event-ID cannot
// be replayed from.
func resync(lastID string) []byte {
	data, _ := json.Marshal(map[string]string{"lastEventId": lastID})
	p, _ := (&Event{Name: ResyncEvent, Data: json.RawMessage(data)}).appendBody(nil)
	return p
}

// replayLocked returns the events in rs after lastID, in publish order,
// or miss if that id is unknown or events after it were evicted.
func (b *Broker) replayLocked(rs []*room, lastID string) (replay []histEntry, miss bool) {
	now := time.Now()
	var seq uint64
	found := false
	for _, r := range rs {
		r.hist.trim(now)
		if s, ok := r.hist.find(lastID); ok && (!found || s > seq) {
			seq, found = s, true
		}
	}
	if !found {
		return nil, true
	}
	for _, r := range rs {
		es, ok := r.hist.since(seq)
		if !ok {
			return nil, true
		}
		replay = append(replay, es...)
	}
	if len(rs) > 1 {
		slices.SortFunc(replay, func(a, b histEntry) int { return cmpUint(a.seq, b.seq) })
	}
	return replay, false
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// roomLocked returns the named room, creating it. It needs b.mu held for
// writing.
func (b *Broker) roomLocked(name string) *room {
	r := b.rooms[name]
	if r == nil {
		r = newRoom(name, b.cfg.History)
		b.rooms[name] = r
	}
	return r
}

func (b *Broker) join(c *Client, name string) error {
	if err := checkRoom(name); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	c.mu.Lock()
	_, in := c.rooms[name]
	n, closed := len(c.rooms), c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return ErrClientGone
	case in:
		return nil
	case b.limits.MaxRoomsPerClient > 0 && n >= b.limits.MaxRoomsPerClient:
		return &LimitError{Limit: "MaxRoomsPerClient", Max: b.limits.MaxRoomsPerClient}
	}
	r := b.roomLocked(name)
	r.mu.Lock()
	r.add(c)
	c.mu.Lock()
	c.rooms[name] = struct{}{}
	c.mu.Unlock()
	r.mu.Unlock()
	return nil
}

func (b *Broker) leave(c *Client, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leaveLocked(c, name, time.Now())
}

func (b *Broker) leaveLocked(c *Client, name string, now time.Time) {
	r := b.rooms[name]
	if r == nil {
		return
	}
	r.mu.Lock()
	r.remove(c)
	if r.idle(now) {
		r.dead = true
		delete(b.rooms, name)
	}
	c.mu.Lock()
	delete(c.rooms, name)
	c.mu.Unlock()
	r.mu.Unlock()
}

// finish unregisters a client whose Serve is returning.
func (b *Broker) finish(c *Client) {
	c.close(ReasonClientGone) // no-op unless the stream is still open
	b.unregister(c)
	if f := b.cfg.OnDisconnect; f != nil {
		b.callback("OnDisconnect", func() { f(c, c.reason) })
	}
	b.wg.Done()
}

// unregister undoes register but for the handler count.
func (b *Broker) unregister(c *Client) {
	now := time.Now()
	b.mu.Lock()
	for _, name := range c.Rooms() {
		b.leaveLocked(c, name, now)
	}
	b.all.mu.Lock()
	b.all.remove(c)
	b.all.mu.Unlock()
	delete(b.clients, c.id)
	b.mu.Unlock()
	b.nclients.Add(-1)
}

// Remove ends c's stream once what is queued for it has been written. It
// does nothing if the stream has ended already.
func (b *Broker) Remove(c *Client) { c.close(ReasonRemoved) }

// Client returns the connected client with this id, or nil.
func (b *Broker) Client(id string) *Client {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.clients[id]
}

// Clients yields the connected clients, from a snapshot taken when the
// iteration starts; no lock is held while yielding.
func (b *Broker) Clients() iter.Seq[*Client] {
	return func(yield func(*Client) bool) {
		b.all.mu.Lock()
		clients := slices.Clone(b.all.members)
		b.all.mu.Unlock()
		for _, c := range clients {
			if !yield(c) {
				return
			}
		}
	}
}

// RoomSize returns the number of clients in room; "*" counts every client.
func (b *Broker) RoomSize(name string) int {
	if name == "*" {
		return int(b.nclientsRegistered())
	}
	b.mu.RLock()
	r := b.rooms[name]
	b.mu.RUnlock()
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

func (b *Broker) nclientsRegistered() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.clients)
}

// Rooms returns the names of the rooms that have members or history,
// sorted.
func (b *Broker) Rooms() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return slices.Sorted(maps.Keys(b.rooms))
}

// Publish sends ev to every client in room, in the order of the room's
// publishes. "*" publishes to every client, like [Broker.PublishAll].
// With History on, an event without an ID is given the next id of a
// sequence that increases across the broker, and is kept for replay.
// Publish never waits for a client: one whose queue is full is dropped.
// It returns [ErrInvalidRoom], an [*EventError], [ErrClosed], or a
// [*LimitError] for an event larger than Limits.QueueBytes.
func (b *Broker) Publish(ctx context.Context, room string, ev Event) error {
	if room == "*" {
		return b.PublishAll(ctx, ev)
	}
	if err := checkRoom(room); err != nil {
		return err
	}
	if b.bp != nil {
		return b.publishRemote(ctx, Message{Kind: KindRoom, Room: room}, &ev)
	}
	m, err := b.prepare(&ev)
	if err != nil {
		return err
	}
	for {
		b.mu.RLock()
		r, closed := b.rooms[room], b.closed
		if r == nil && !closed && b.cfg.History.Size > 0 {
			b.mu.RUnlock()
			b.mu.Lock()
			r, closed = b.roomLocked(room), b.closed
			b.mu.Unlock()
		} else {
			b.mu.RUnlock()
		}
		if closed {
			return ErrClosed
		}
		if r == nil || b.publishRoom(r, m) {
			b.stats.published.Add(1)
			return nil
		}
	}
}

// PublishAll sends ev to every client, kept for replay like a room's
// events when History is on.
func (b *Broker) PublishAll(ctx context.Context, ev Event) error {
	if b.bp != nil {
		return b.publishRemote(ctx, Message{Kind: KindAll}, &ev)
	}
	m, err := b.prepare(&ev)
	if err != nil {
		return err
	}
	if b.isClosed() {
		return ErrClosed
	}
	b.stats.published.Add(1)
	b.publishRoom(b.all, m)
	return nil
}

// publishRemote encodes ev and publishes it on the backplane.
func (b *Broker) publishRemote(ctx context.Context, m Message, ev *Event) error {
	if err := checkID(ev.ID); err != nil {
		return err
	}
	body, err := ev.appendBody(make([]byte, 0, ev.sizeHint()))
	if err != nil {
		return err
	}
	// The id is the caller's or, for kept messages, the backplane's.
	if err := b.checkSize(len(body) + len("id: \n") + max(len(ev.ID), 64)); err != nil {
		return err
	}
	if b.isClosed() {
		return ErrClosed
	}
	m.ID, m.Event = ev.ID, body
	m.Keep = b.histSize > 0 && (m.Kind == KindRoom || m.Kind == KindAll)
	if err := b.bp.Publish(ctx, m); err != nil {
		return fmt.Errorf("sse: backplane publish: %w", err)
	}
	b.stats.published.Add(1)
	return nil
}

// prepared is an event encoded once for every recipient.
type prepared struct {
	id   string // the caller's id, if any
	body []byte // the fields but id, or the whole event if id is known
	full bool   // body includes the id line
}

func (b *Broker) prepare(ev *Event) (prepared, error) {
	if err := checkID(ev.ID); err != nil {
		return prepared{}, err
	}
	full := ev.ID != "" || b.cfg.History.Size <= 0
	dst := make([]byte, 0, ev.sizeHint())
	if ev.ID != "" {
		dst = appendID(dst, ev.ID)
	}
	body, err := ev.appendBody(dst)
	if err != nil {
		return prepared{}, err
	}
	n := len(body)
	if !full {
		n += len("id: \n") + 20 // the longest sequence number
	}
	if err := b.checkSize(n); err != nil {
		return prepared{}, err
	}
	return prepared{id: ev.ID, body: body, full: full}, nil
}

// checkSize refuses an event that could never fit in a client's queue:
// queued, it would drop every recipient as slow.
func (b *Broker) checkSize(n int) error {
	if n > b.limits.QueueBytes {
		return &LimitError{Limit: "QueueBytes", Max: b.limits.QueueBytes}
	}
	return nil
}

// publishRoom stores and fans out m, and reports false if r was freed
// meanwhile (the caller looks the room up again).
func (b *Broker) publishRoom(r *room, m prepared) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead {
		return false
	}
	p := m.body
	if r.hist.on() {
		seq := b.seq.Add(1)
		id := m.id
		if !m.full {
			id = strconv.FormatUint(seq, 10)
			p = make([]byte, 0, len(id)+5+len(m.body))
			p = append(appendID(p, id), m.body...)
		}
		r.hist.add(histEntry{seq: seq, id: id, p: p, at: time.Now()})
		r.deliver(queued{p: p, event: true, id: id})
		return true
	}
	r.deliver(queued{p: p, event: true})
	return true
}

// Send sends ev to one client of this broker, outside any room and not
// kept for replay. It returns [ErrClientGone] if the client's stream has
// ended.
func (b *Broker) Send(ctx context.Context, c *Client, ev Event) error {
	p, err := ev.MarshalText()
	if err != nil {
		return err
	}
	if err := b.checkSize(len(p)); err != nil {
		return err
	}
	if !c.enqueue(queued{p: p, event: true, id: ev.ID}) {
		return ErrClientGone
	}
	b.stats.published.Add(1)
	return nil
}

// SendTo is [Broker.Send] to the client with this id. Without a
// Backplane it returns [ErrClientGone] if no such client is connected.
// With one, a client not connected here is looked for on every node, and
// SendTo cannot tell whether it was found.
func (b *Broker) SendTo(ctx context.Context, clientID string, ev Event) error {
	if c := b.Client(clientID); c != nil {
		return b.Send(ctx, c, ev)
	}
	if b.bp == nil {
		return ErrClientGone
	}
	return b.publishRemote(ctx, Message{Kind: KindClient, Client: clientID}, &ev)
}

// CloseRoom ends the stream of every member of room, on every node when
// there is a Backplane, as [Broker.Remove] does for one client.
func (b *Broker) CloseRoom(ctx context.Context, room string) error {
	if err := checkRoom(room); err != nil {
		return err
	}
	if b.isClosed() {
		return ErrClosed
	}
	if b.bp != nil {
		if err := b.bp.Publish(ctx, Message{Kind: KindCloseRoom, Room: room}); err != nil {
			return fmt.Errorf("sse: backplane publish: %w", err)
		}
		return nil
	}
	for _, c := range b.roomMembers(room) {
		b.Remove(c)
	}
	return nil
}

// BroadcastFilter sends ev to every client for which the Config.Filters
// entry named filter returns true given arg, on every node when there is
// a Backplane. It returns an error for an unknown filter name.
func (b *Broker) BroadcastFilter(ctx context.Context, filter, arg string, ev Event) error {
	f := b.cfg.Filters[filter]
	if f == nil {
		return fmt.Errorf("sse: unknown filter %q", filter)
	}
	if b.bp != nil {
		return b.publishRemote(ctx, Message{Kind: KindFilter, Filter: filter, Arg: arg}, &ev)
	}
	return b.Broadcast(ctx, func(c *Client) bool { return b.match(f, c, arg) }, ev)
}

// Broadcast sends ev to every client of this broker for which filter
// returns true. The filter runs on the caller's goroutine with no lock
// held and must not block. Broadcast events are not kept for replay. A
// function cannot travel to other nodes: across a Backplane use
// [Broker.BroadcastFilter].
func (b *Broker) Broadcast(ctx context.Context, filter func(*Client) bool, ev Event) error {
	p, err := ev.MarshalText()
	if err != nil {
		return err
	}
	if err := b.checkSize(len(p)); err != nil {
		return err
	}
	if b.isClosed() {
		return ErrClosed
	}
	b.stats.published.Add(1)
	for c := range b.Clients() {
		if filter == nil || filter(c) {
			c.enqueue(queued{p: p, event: true, id: ev.ID})
		}
	}
	return nil
}

// Shutdown stops accepting clients (later requests get 204 No Content, so
// EventSource stops reconnecting), ends every stream once what is queued
// for it is written, stops heartbeats and schedules, and waits for the
// stream handlers and running jobs to return or ctx to end. Later calls
// return [ErrClosed].
//
// [net/http.Server.Shutdown] does not wait for streams, which never go
// idle; register the broker so that both end together:
//
//	srv.RegisterOnShutdown(func() { b.Shutdown(context.Background()) })
func (b *Broker) Shutdown(ctx context.Context) error {
	first := false
	b.closeOnce.Do(func() {
		first = true
		b.mu.Lock()
		b.closed = true
		close(b.done)
		for _, c := range b.clients {
			c.close(ReasonShutdown)
		}
		b.mu.Unlock()
	})
	if !first {
		return ErrClosed
	}
	b.jobCancel()
	var cronDone context.Context
	b.cronMu.Lock()
	if b.cron != nil {
		cronDone = b.cron.Stop()
	}
	b.cronMu.Unlock()
	waited := make(chan struct{})
	go func() {
		b.wg.Wait()
		b.bg.Wait()
		if cronDone != nil {
			<-cronDone.Done()
		}
		if b.bp != nil {
			if err := b.bp.Close(); err != nil {
				b.log.Warn("sse: closing the backplane", "error", err)
			}
		}
		close(waited)
	}()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Broker) isClosed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// callback runs a user callback, recovering and logging a panic.
func (b *Broker) callback(name string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			b.log.Error("sse: callback panicked", "callback", name, "panic", v)
		}
	}()
	f()
}

func (b *Broker) hookError(c *Client, err error) {
	if f := b.cfg.OnError; f != nil {
		b.callback("OnError", func() { f(c, err) })
	}
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
