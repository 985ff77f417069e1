package signal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/roomcast/sse/eventsource"
)

// Message is one event of a peer's stream: its name ([EventConnect],
// [EventJoin], [EventLeave], [EventSignal], [EventCredentials]) and its
// data, JSON.
type Message struct {
	Event string
	Data  json.RawMessage
}

// Decode unmarshals the message's data into v.
func (m Message) Decode(v any) error { return json.Unmarshal(m.Data, v) }

// Dialer opens peers; it is moshpit's client with options. The zero value
// is usable, and a Dialer is safe for concurrent use.
type Dialer struct {
	// HTTPClient sends the requests. Its Timeout must be zero, since a
	// timeout would bound the whole stream. Nil: http.DefaultClient.
	HTTPClient *http.Client

	// Header holds extra headers for every request, such as credentials
	// for a proxy in front of the server.
	Header http.Header
}

// Dial creates a swarm on the signal server at baseURL (the URL the
// server is mounted at, such as "http://localhost:5000") and returns its
// initiator. See [Dialer.Dial].
func Dial(ctx context.Context, baseURL string) (*Peer, error) {
	return (&Dialer{}).Dial(ctx, baseURL)
}

// Join joins swarm id on the signal server at baseURL. See [Dialer.Join].
func Join(ctx context.Context, baseURL, id string) (*Peer, error) {
	return (&Dialer{}).Join(ctx, baseURL, id)
}

// Dial creates a swarm and returns its initiator. It returns once the
// server has accepted the stream; the peer's ids arrive with its connect
// event a moment later (see [Peer.Connected]). ctx bounds the dial only,
// not the stream. An error answer is returned as a [*StatusError].
func (d *Dialer) Dial(ctx context.Context, baseURL string) (*Peer, error) {
	return d.open(ctx, baseURL, "")
}

// Join joins swarm id, as [Dialer.Dial] creates one; an unknown swarm is
// a [*StatusError] with StatusCode 404.
func (d *Dialer) Join(ctx context.Context, baseURL, id string) (*Peer, error) {
	if id == "" {
		return nil, errors.New("signal: join: empty swarm id")
	}
	return d.open(ctx, baseURL, id)
}

// Peer is one connection to a swarm: a stream of [Message] values in,
// and a buffered queue of posts out. Its methods are safe for concurrent
// use.
//
// A peer does not reconnect: its cid and token belong to its stream, so
// a new stream would be a new peer.
type Peer struct {
	client    *http.Client
	header    http.Header
	base      string // the server's URL, without a trailing slash
	initiator bool
	join      string // the swarm asked for; "" for Dial

	ctx    context.Context // the stream's life; posts are bound to it too
	cancel context.CancelFunc
	es     *eventsource.EventSource

	msgs      chan Message
	connected chan struct{} // closed when the connect event has arrived
	readDone  chan struct{} // closed when the stream has ended
	sendDone  chan struct{}
	wake      chan struct{} // capacity 1: a write was queued

	mu       sync.Mutex
	info     Connect
	err      error // why the stream ended, once readDone is closed
	closing  bool  // Close was called
	queue    []outgoing
	queued   uint64 // writes accepted
	sent     uint64 // writes posted or given up
	errs     []error
	progress chan struct{} // closed and replaced each time sent grows
}

// outgoing is a written message: its data, and the cid of a direct one.
type outgoing struct {
	data json.RawMessage
	cid  string
}

func (d *Dialer) open(ctx context.Context, baseURL, id string) (*Peer, error) {
	base := strings.TrimRight(baseURL, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("signal: dial: base URL %q is not an http or https URL", baseURL)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signal: dial: %w", err)
	}
	client := d.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	// The stream is read by the project's EventSource, without
	// reconnection: a peer's cid and token die with its stream.
	opened := make(chan struct{})
	es, err := eventsource.New(base+"/"+url.PathEscape(id), eventsource.Options{
		Client:      client,
		Header:      d.Header,
		NoReconnect: true,
		// As large as the line limit the peer had before; the server
		// bounds messages far below it (Config.BodyLimit).
		MaxEventSize: 16 << 20,
		OnState: func(s eventsource.State) {
			if s == eventsource.Open {
				close(opened) // once: without reconnection, a stream opens once at most
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("signal: dial: %w", err)
	}
	life, cancel := context.WithCancel(context.Background())
	first := make(chan next, 1)
	go func() {
		ev, err := es.Next(life)
		first <- next{ev, err}
	}()
	select {
	case <-opened:
	case r := <-first: // an error: events come only after the stream opened
		select {
		case <-opened:
			first <- r // opened after all; the reader takes it
		default:
			cancel()
			_ = es.Close()
			return nil, dialError(r.err)
		}
	case <-ctx.Done():
		cancel()
		_ = es.Close()
		<-first
		return nil, fmt.Errorf("signal: dial: %w", ctx.Err())
	}
	p := &Peer{
		client:    client,
		header:    d.Header.Clone(),
		base:      base,
		initiator: id == "",
		join:      id,
		ctx:       life,
		cancel:    cancel,
		es:        es,
		msgs:      make(chan Message),
		connected: make(chan struct{}),
		readDone:  make(chan struct{}),
		sendDone:  make(chan struct{}),
		wake:      make(chan struct{}, 1),
		progress:  make(chan struct{}),
	}
	go p.read(first)
	go p.send()
	return p, nil
}

// next is what a call of EventSource.Next returned.
type next struct {
	ev  eventsource.Event
	err error
}

// dialError turns the error that ended a stream before it opened into
// the peer's.
func dialError(err error) error {
	var se *eventsource.StatusError
	var ce *eventsource.ContentTypeError
	switch {
	case errors.As(err, &se):
		return statusFromBody(se.StatusCode, []byte(se.Body))
	case errors.Is(err, eventsource.ErrNoContent):
		return &StatusError{StatusCode: http.StatusNoContent}
	case errors.As(err, &ce):
		mt, _, _ := mime.ParseMediaType(ce.ContentType)
		return fmt.Errorf("%w: answer is %q, not an event stream", ErrProtocol, mt)
	}
	return fmt.Errorf("signal: dial: %w", err)
}

// Messages returns the stream's messages, connect first. The channel is
// closed when the stream ends; [Peer.Err] then says why. A peer whose
// messages are not read stops reading its stream, and a server drops a
// stream that falls too far behind.
func (p *Peer) Messages() <-chan Message { return p.msgs }

// Connected returns a channel closed when the connect event has arrived,
// from which on ID, CID and Token are set.
func (p *Peer) Connected() <-chan struct{} { return p.connected }

// ID returns the swarm's id, or "" before the connect event.
func (p *Peer) ID() string { return p.connect().ID }

// CID returns this peer's id in the swarm, or "" before the connect event.
func (p *Peer) CID() string { return p.connect().CID }

// Token returns the secret that authenticates this peer's posts, or ""
// before the connect event.
func (p *Peer) Token() string { return p.connect().Token }

// ICEServers returns the STUN and TURN servers the server handed out,
// with the latest TURN credentials, or nil if it handed out none.
func (p *Peer) ICEServers() []ICEServer { return cloneICE(p.connect().ICEServers) }

// Initiator reports whether this peer created its swarm (with Dial).
func (p *Peer) Initiator() bool { return p.initiator }

func (p *Peer) connect() Connect {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info
}

// Err returns why the stream ended, once the Messages channel is closed:
// nil after [Peer.Close], [ErrStreamEnded] when the server ended it, or
// the error that broke it. Before that, it returns nil.
func (p *Peer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Write sends v, as JSON, to the whole swarm; a "_cid" field in an
// object sends the rest of it to that peer alone, as moshpit did. Write
// never waits: it queues the message, and the queue is posted in order
// once the connect event has arrived, so Write may be called at once
// after Dial. [Peer.Flush] waits for the queue and reports failed posts.
// Write returns an error if v cannot be encoded, and once the stream has
// ended ([ErrClosed] after Close).
func (p *Peer) Write(v any) error {
	out, err := encodeOutgoing(v)
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.closing || p.endedLocked() {
		err := p.endErrLocked()
		p.mu.Unlock()
		return err
	}
	p.queue = append(p.queue, out)
	p.queued++
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// Flush waits until every message written before it has been posted, or
// given up because the stream ended, or ctx ends. It returns the errors
// of the posts that failed since the previous Flush, joined; a refused
// post is a [*StatusError].
func (p *Peer) Flush(ctx context.Context) error {
	p.mu.Lock()
	target := p.queued
	for p.sent < target {
		ch := p.progress
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
	errs := p.errs
	p.errs = nil
	p.mu.Unlock()
	return errors.Join(errs...)
}

// Close ends the stream, drops the messages not yet posted, and waits
// for the peer's goroutines to stop. Call [Peer.Flush] first to post
// them. Close always returns nil.
func (p *Peer) Close() error {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.cancel()
	<-p.readDone
	<-p.sendDone
	return nil
}

// endedLocked reports whether the stream has ended. Checked under p.mu,
// it orders a Write against the sender's giving up the queue.
func (p *Peer) endedLocked() bool {
	select {
	case <-p.readDone:
		return true
	default:
		return false
	}
}

// endErrLocked is the error for a write that can no longer be posted.
func (p *Peer) endErrLocked() error {
	if p.closing || p.err == nil {
		return ErrClosed
	}
	return p.err
}

// read is the goroutine that reads the stream, starting with what the
// first Next returned.
func (p *Peer) read(first <-chan next) {
	err := p.readStream(<-first)
	p.mu.Lock()
	switch {
	case p.closing:
		err = nil
	case errors.Is(err, eventsource.ErrStreamEnded):
		err = ErrStreamEnded
	case !errors.Is(err, ErrProtocol):
		err = fmt.Errorf("signal: stream: %w", err)
	}
	p.err = err
	p.mu.Unlock()
	p.cancel() // a post in flight is moot: the token died with the stream
	_ = p.es.Close()
	// readDone first: whoever sees Messages closed finds Write refusing.
	close(p.readDone)
	close(p.msgs)
}

func (p *Peer) readStream(r next) error {
	for ; r.err == nil; r.ev, r.err = p.es.Next(p.ctx) {
		m := Message{Event: r.ev.Type, Data: json.RawMessage(r.ev.Data)}
		if err := p.note(m); err != nil {
			return err
		}
		select {
		case p.msgs <- m:
		case <-p.ctx.Done():
			return p.ctx.Err()
		}
	}
	return r.err
}

// note updates the peer for m, which must follow the protocol.
func (p *Peer) note(m Message) error {
	select {
	case <-p.connected:
	default:
		if m.Event != EventConnect {
			return fmt.Errorf("%w: first event is %q, not connect", ErrProtocol, m.Event)
		}
		var c Connect
		if err := m.Decode(&c); err != nil || c.ID == "" || c.CID == "" || c.Token == "" ||
			(p.join != "" && c.ID != p.join) {
			return fmt.Errorf("%w: bad connect event %.200q", ErrProtocol, m.Data)
		}
		p.mu.Lock()
		p.info = c
		p.mu.Unlock()
		close(p.connected)
		return nil
	}
	if m.Event == EventCredentials {
		var c Credentials
		if err := m.Decode(&c); err != nil {
			return fmt.Errorf("%w: bad credentials event %.200q", ErrProtocol, m.Data)
		}
		p.mu.Lock()
		p.info.ICEServers = c.ICEServers
		p.mu.Unlock()
	}
	return nil
}

// send is the goroutine that posts the queued writes, in order, once the
// peer is connected.
func (p *Peer) send() {
	defer close(p.sendDone)
	select {
	case <-p.connected:
	case <-p.readDone:
	}
	for {
		batch, ok := p.take()
		if !ok {
			return
		}
		for _, out := range batch {
			err := p.post(out)
			p.mu.Lock()
			if err != nil {
				p.errs = append(p.errs, err)
			}
			p.advanceLocked(1)
			p.mu.Unlock()
		}
	}
}

// take waits for writes and returns them, or gives up those left once
// the stream has ended and returns false.
func (p *Peer) take() ([]outgoing, bool) {
	for {
		p.mu.Lock()
		if p.endedLocked() {
			if n := len(p.queue); n > 0 {
				p.errs = append(p.errs, fmt.Errorf("signal: %d messages not sent: %w", n, p.endErrLocked()))
				p.queue = nil
				p.advanceLocked(n)
			}
			p.mu.Unlock()
			return nil, false
		}
		if len(p.queue) > 0 {
			batch := p.queue
			p.queue = nil
			p.mu.Unlock()
			return batch, true
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-p.readDone:
		}
	}
}

func (p *Peer) advanceLocked(n int) {
	p.sent += uint64(n)
	close(p.progress)
	p.progress = make(chan struct{})
}

// post sends one message.
func (p *Peer) post(out outgoing) error {
	info := p.connect()
	body, err := marshal(struct {
		Data  json.RawMessage `json:"data"`
		Token string          `json:"token"`
		CID   string          `json:"cid,omitempty"`
	}{out.data, info.Token, out.cid})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, p.base+"/"+url.PathEscape(info.ID), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("signal: post: %w", err)
	}
	for k, v := range p.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		if p.ctx.Err() != nil {
			<-p.readDone // the stream ended or is ending: say why
			p.mu.Lock()
			defer p.mu.Unlock()
			return fmt.Errorf("signal: message not sent: %w", p.endErrLocked())
		}
		return fmt.Errorf("signal: post: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusError(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return nil
}

// encodeOutgoing encodes a written value, moving an object's "_cid" field
// out of the data.
func encodeOutgoing(v any) (outgoing, error) {
	data, err := marshal(v)
	if err != nil {
		return outgoing{}, fmt.Errorf("signal: write: %w", err)
	}
	if data[0] != '{' {
		return outgoing{data: data}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return outgoing{}, fmt.Errorf("signal: write: %w", err)
	}
	raw, ok := fields["_cid"]
	if !ok {
		return outgoing{data: data}, nil
	}
	var cid string
	if err := json.Unmarshal(raw, &cid); err != nil {
		return outgoing{}, errors.New("signal: write: _cid must be a string")
	}
	delete(fields, "_cid")
	data, err = marshal(fields)
	return outgoing{data: data, cid: cid}, err
}

// marshal is json.Marshal without HTML escaping, so text arrives as it
// was written.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// statusError reads a server's error answer.
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	return statusFromBody(resp.StatusCode, b)
}

// statusFromBody is the error for an answer with status code and the
// start of body b: its JSON "error" field, or its text.
func statusFromBody(code int, b []byte) error {
	msg := strings.TrimSpace(string(b))
	var body struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error != "" {
		msg = body.Error
	}
	return &StatusError{StatusCode: code, Message: msg}
}
