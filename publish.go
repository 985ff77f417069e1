package sse

import (
	"context"
	"fmt"
	"time"
)

// Publish sends ev to every client in room, in the order of the room's
// publishes. "*" publishes to every client, like [Broker.PublishAll].
// With History on, an event without an ID is given its position in the
// broker's one order of kept events as its id, and is kept for replay.
// Publish never waits for a client: one whose queue is full is dropped.
//
// Without a Backplane, Publish never blocks: ctx only matters when it is
// already done, and then the event is not published. With one, ctx
// bounds the call.
//
// It returns [ErrInvalidRoom], an [*EventError], [ErrClosed], ctx's
// error, or a [*LimitError] for an event larger than Limits.QueueBytes:
// in all these cases the event was not published, and a retry cannot
// duplicate it. With a Backplane it may also return an error wrapping
// [ErrUncertain]: then the event may have been published.
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
	if err := ctx.Err(); err != nil {
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
// events when History is on. It returns the errors of [Broker.Publish].
func (b *Broker) PublishAll(ctx context.Context, ev Event) error {
	if b.bp != nil {
		return b.publishRemote(ctx, Message{Kind: KindAll}, &ev)
	}
	m, err := b.prepare(&ev)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
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
	if b.kept() && (m.Kind == KindRoom || m.Kind == KindAll) {
		if err := checkKeptID(ev.ID); err != nil {
			return err
		}
	}
	body, err := ev.appendBody(make([]byte, 0, ev.sizeHint()))
	if err != nil {
		return err
	}
	// The id is the caller's or, for kept messages, the position.
	if err := b.checkSize(len(body) + len("id: \n") + max(len(ev.ID), 20)); err != nil {
		return err
	}
	if b.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.ID, m.Event = ev.ID, body
	m.Keep = b.kept() && (m.Kind == KindRoom || m.Kind == KindAll)
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
	if b.kept() {
		if err := checkKeptID(ev.ID); err != nil {
			return prepared{}, err
		}
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
		n += len("id: \n") + 20 // the longest position
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
// meanwhile (the caller looks the room up again). A kept event takes its
// position and reaches every queue under b.order.mu, so that every
// client gets kept events in the order of their positions.
func (b *Broker) publishRoom(r *room, m prepared) bool {
	if !r.hist.on() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.dead {
			return false
		}
		r.deliver(queued{p: m.body, event: true})
		return true
	}
	now := time.Now()
	b.order.mu.Lock()
	defer b.order.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead {
		return false
	}
	seq := b.order.next(now)
	id, p := m.id, m.body
	if !m.full {
		id = formatPosition(seq)
		p = make([]byte, 0, len(id)+5+len(m.body))
		p = append(appendID(p, id), m.body...)
	}
	r.hist.add(histEntry{seq: seq, id: id, p: p, at: now})
	r.deliver(queued{p: p, event: true, id: id, seq: seq})
	return true
}

// Send sends ev to one client of this broker, outside any room and not
// kept for replay. It returns [ErrClientGone] if the client's stream has
// ended. An ID given to a sent event becomes the client's Last-Event-ID,
// which no history holds: set none when History is on, or a reconnecting
// client gets a [ResyncEvent].
func (b *Broker) Send(ctx context.Context, c *Client, ev Event) error {
	p, err := ev.MarshalText()
	if err != nil {
		return err
	}
	if err := b.checkSize(len(p)); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
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
		return fmt.Errorf("sse: no filter named %q in Config.Filters", filter)
	}
	if b.bp != nil {
		return b.publishRemote(ctx, Message{Kind: KindFilter, Filter: filter, Arg: arg}, &ev)
	}
	return b.Broadcast(ctx, func(c *Client) bool { return b.match(f, c, arg) }, ev)
}

// Broadcast sends ev to every client of this broker for which filter
// returns true. The filter runs on the caller's goroutine with no lock
// held and must not block. Broadcast events are not kept for replay (see
// [Broker.Send] on ids). A function cannot travel to other nodes: across
// a Backplane use [Broker.BroadcastFilter].
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
	if err := ctx.Err(); err != nil {
		return err
	}
	b.stats.published.Add(1)
	for c := range b.Clients() {
		if filter == nil || filter(c) {
			c.enqueue(queued{p: p, event: true, id: ev.ID})
		}
	}
	return nil
}
