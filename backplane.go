package sse

import (
	"context"
	"errors"
)

// A Backplane carries events between brokers, so that several processes
// (nodes) serve one set of rooms: a Publish on any node reaches the
// matching clients on every node, and a client reconnecting to any node
// is replayed what it missed. With no Backplane in [Config], a broker
// works alone and in process, which is the fastest path.
//
// Kept messages (those of rooms and KindAll while History is on) have
// positions in one order across the cluster, Message.Seq: every node
// delivers them in that order, so that one Last-Event-ID tells where a
// client in many rooms stands, whichever node it reconnects to.
//
// The package backplane/redis implements it on Redis. Implementations
// must be safe for concurrent use.
type Backplane interface {
	// Attach is called once, by [New]. From then on the backplane calls
	// deliver with every message that any attached broker publishes,
	// this broker's own included, exactly once each. Calls to deliver
	// must not overlap, and kept messages must come in the order of
	// their Seq. Before any kept message, and again after a gap, it
	// delivers a KindPosition message with the position reached, so
	// that streams opened before the next event get a position too.
	// history is the broker's Config.History: the bounds of what the
	// backplane keeps for Replay.
	Attach(deliver func(Message), history History) error

	// Publish sends m to every attached broker. When m.Keep is set the
	// backplane keeps it for Replay and gives it the next position,
	// Seq. An error wrapping [ErrUncertain] means m may have reached
	// some, all or none of the nodes; any other error means it was not
	// sent. A message is never silently lost on the publishing side.
	// Publish returns when ctx is done, at the latest.
	Publish(ctx context.Context, m Message) error

	// Replay returns the kept messages of rooms (the name "*" stands for
	// KindAll messages) after the position of lastID, in order and with
	// their Seq, and that position: lastID is the id of a kept message
	// (the caller's own or its Seq) or a position the broker sent
	// (formatted in decimal). If lastID is unknown, or messages after it
	// may no longer be kept, it returns an error wrapping
	// [ErrReplayMiss].
	//
	// The broker holds a reconnecting client's live events while it
	// replays, and drops those at or before the replay's end, so Replay
	// need not wait for this node's deliveries to catch up.
	Replay(ctx context.Context, rooms []string, lastID string) (msgs []Message, from uint64, err error)

	// Close stops deliveries and releases the backplane's resources. It
	// is called by [Broker.Shutdown].
	Close() error
}

// ErrReplayMiss is wrapped by a [Backplane]'s Replay error when it cannot
// replay from the given id.
var ErrReplayMiss = errors.New("sse: cannot replay from that event id")

// MessageKind says which clients a [Message] is for.
type MessageKind uint8

const (
	// KindRoom: the members of Message.Room.
	KindRoom MessageKind = iota + 1
	// KindAll: every client.
	KindAll
	// KindClient: the client whose ID is Message.Client.
	KindClient
	// KindFilter: the clients for which the Config.Filters entry named
	// Message.Filter returns true, given Message.Arg.
	KindFilter
	// KindCloseRoom: the streams of every member of Message.Room end, as
	// with [Broker.Remove]. Message.Event is empty.
	KindCloseRoom
	// KindGap: the backplane lost kept messages for Message.Room (all
	// rooms if empty), say while its connection was down, and could not
	// recover them: those clients are sent a [ResyncEvent] whose id is
	// Message.Seq, the position from which deliveries are whole again.
	// It must come in the order of positions, after the kept messages at
	// or before Seq that were recovered.
	KindGap
	// KindPosition: no event; Message.Seq is the position this node's
	// deliveries have reached (see Backplane.Attach).
	KindPosition
)

// Message is what travels on a [Backplane]: an encoded event and where it
// goes.
type Message struct {
	Kind   MessageKind
	Room   string
	Client string
	Filter string
	Arg    string
	// ID is the caller's event id, or empty. A kept message without one
	// is sent with its Seq, in decimal, as its id.
	ID string
	// Seq is a kept message's position, given by the backplane: it
	// increases across all rooms in the order of delivery. Zero for
	// messages not kept.
	Seq uint64
	// Keep asks the backplane to keep the message for Replay.
	Keep bool
	// Event is the encoded event, every field but the id, ending in the
	// blank line. Receivers must not modify it.
	Event []byte
}

// queued encodes m for a client's queue, with its id line.
func (m *Message) queued() queued {
	id := m.ID
	if id == "" && m.Seq != 0 {
		id = formatPosition(m.Seq)
	}
	p := m.Event
	if id != "" && len(p) > 0 {
		p = make([]byte, 0, len(id)+5+len(m.Event))
		p = append(appendID(p, id), m.Event...)
	}
	return queued{p: p, event: true, id: id, seq: m.Seq}
}

// deliver is the broker's end of its backplane: it hands a message to the
// local clients it is for. The backplane calls it one message at a time.
func (b *Broker) deliver(m Message) {
	if m.Seq != 0 {
		// Kept messages and positions move this broker's position, in
		// step with registrations (see register).
		b.order.mu.Lock()
		defer b.order.mu.Unlock()
		b.order.advance(m.Seq)
	}
	switch m.Kind {
	case KindRoom:
		b.mu.RLock()
		r := b.rooms[m.Room]
		b.mu.RUnlock()
		if r != nil {
			r.mu.Lock()
			r.deliver(m.queued())
			r.mu.Unlock()
		}
	case KindAll:
		b.all.mu.Lock()
		b.all.deliver(m.queued())
		b.all.mu.Unlock()
	case KindClient:
		if c := b.Client(m.Client); c != nil {
			c.enqueue(m.queued())
		}
	case KindFilter:
		f := b.cfg.Filters[m.Filter]
		if f == nil {
			b.log.Warn("sse: backplane message for an unknown filter", "filter", m.Filter)
			return
		}
		q := m.queued()
		for c := range b.Clients() {
			if b.match(f, c, m.Arg) {
				c.enqueue(q)
			}
		}
	case KindCloseRoom:
		for _, c := range b.roomMembers(m.Room) {
			b.Remove(c)
		}
	case KindGap:
		// With its position as seq, the resync event moves each
		// client's floor like a kept event, and is dropped by a client
		// whose replay already went past it.
		q := resync("", m.Seq)
		q.seq = m.Seq
		if m.Room == "" {
			for c := range b.Clients() {
				c.enqueue(q)
			}
			return
		}
		for _, c := range b.roomMembers(m.Room) {
			c.enqueue(q)
		}
	case KindPosition:
	}
}

// match runs a named filter, treating a panic as no match.
func (b *Broker) match(f func(*Client, string) bool, c *Client, arg string) (ok bool) {
	b.callback("Filters", func() { ok = f(c, arg) })
	return ok
}

// roomMembers returns a snapshot of the local members of a room.
func (b *Broker) roomMembers(name string) []*Client {
	b.mu.RLock()
	r := b.rooms[name]
	b.mu.RUnlock()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Client(nil), r.members...)
}
