package sse

import (
	"maps"
	"slices"
	"time"
)

// register makes c visible to publishers: in the broker, the all-clients
// room and its rooms, with what it missed queued first. Its rooms are
// locked together, and kept events held back by the broker's order, so
// no event is both replayed and delivered live, none falls between the
// two, and c's position is exact. It reports a replay miss, for which a
// [ResyncEvent] is already queued first.
func (b *Broker) register(c *Client, names []string) (miss bool, err error) {
	if b.kept() {
		b.order.mu.Lock()
		defer b.order.mu.Unlock()
	}
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
	pos := b.order.last.Load()
	switch {
	case !b.kept():
	case c.lastEventID == "":
		// A new client starts at the current position.
		c.start = pos
		c.floor = pos
	case b.bp != nil:
		// The replay comes from the backplane once the locks are
		// released; live events wait in c.held meanwhile.
		c.holding = true
		c.floor = pos
	default:
		miss = b.replayLocked(c, rs, pos)
	}
	c.mu.Lock()
	c.rooms = names // sorted and compacted by Add
	c.mu.Unlock()
	for _, r := range rs {
		r.add(c)
		r.mu.Unlock()
	}
	b.clients[c.id] = c
	b.wg.Add(1)
	return miss, nil
}

// roomLocked returns the named room, creating it. It needs b.mu held for
// writing.
func (b *Broker) roomLocked(name string) *room {
	r := b.rooms[name]
	if r == nil {
		r = newRoom(name, b.cfg.History, b.order.last.Load())
		b.rooms[name] = r
	}
	return r
}

// freeLocked forgets an idle room; it needs b.mu and r.mu.
func (b *Broker) freeLocked(r *room) {
	r.dead = true
	delete(b.rooms, r.name)
	if r.hist.evicted > b.freedAt[r.name] {
		b.freedAt[r.name] = r.hist.evicted
		if len(b.freedAt) > maxFreed {
			b.forgetFreed()
		}
	}
}

// maxFreed bounds b.freedAt; past it the older half is forgotten.
const maxFreed = 1 << 16

// forgetFreed drops the older half of b.freedAt, remembering only the
// newest position dropped: a client resuming from before it into a room
// created since is resynced, as it may have missed that room's events.
func (b *Broker) forgetFreed() {
	ps := slices.Sorted(maps.Values(b.freedAt))
	cut := ps[len(ps)/2]
	for name, p := range b.freedAt {
		if p <= cut {
			delete(b.freedAt, name)
		}
	}
	b.freedForgot = max(b.freedForgot, cut)
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
	in := c.inLocked(name)
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
	c.joinLocked(name)
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
		b.freeLocked(r)
	}
	c.mu.Lock()
	c.leaveLocked(name)
	c.mu.Unlock()
	r.mu.Unlock()
}

// finish unregisters a client whose Serve is returning.
func (b *Broker) finish(c *Client) {
	c.close(ReasonClientGone) // no-op unless the stream is still open
	b.unregister(c)
	// What a stream that ended otherwise (Remove, Shutdown) still had
	// queued when its peer went is nobody's now.
	c.mu.Lock()
	c.dropQueuedLocked()
	c.mu.Unlock()
	c.endBody()
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
