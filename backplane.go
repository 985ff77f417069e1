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
// The package backplane/redis implements it on Redis. Implementations
// must be safe for concurrent use.
type Backplane interface {
	// Attach is called once, by [New]. From then on the backplane calls
	// deliver with every message that any attached broker publishes,
	// this broker's own included, exactly once each. Calls to deliver
	// must not overlap, and messages of one room (and those of KindAll)
	// must come in the order their ids were given. history is the
	// broker's Config.History: the bounds of what the backplane keeps
	// for Replay.
	Attach(deliver func(Message), history History) error

	// Publish sends m to every attached broker. When m.Keep is set the
	// backplane keeps it for Replay and, if m.ID is empty, gives it an
	// id that orders it after every earlier kept message of its room.
	// An error means the message may not have reached every node: it is
	// never silently lost.
	Publish(ctx context.Context, m Message) error

	// Replay returns the kept messages of rooms (the name "*" stands for
	// KindAll messages) published after the message with lastID, in
	// order and with their ids. If lastID is unknown, or messages after
	// it are no longer kept, it returns an error wrapping
	// [ErrReplayMiss].
	//
	// The broker holds a reconnecting client's live events while it
	// replays, and drops those the replay contains. So Replay must not
	// return before every message it returns, and the one with lastID,
	// has been delivered to this broker: otherwise a late live copy
	// would follow the replayed one.
	Replay(ctx context.Context, rooms []string, lastID string) ([]Message, error)

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
	// KindGap: the backplane may have lost messages for Message.Room (all
	// rooms if empty), say while its connection was down, and could not
	// recover them: those clients are sent a [ResyncEvent].
	KindGap
)

// Message is what travels on a [Backplane]: an encoded event and where it
// goes.
type Message struct {
	Kind   MessageKind
	Room   string
	Client string
	Filter string
	Arg    string
	// ID is the event's id: the caller's, or the one the backplane gave
	// a kept message. It is sent as the event's id field.
	ID string
	// Keep asks the backplane to keep the message for Replay.
	Keep bool
	// Event is the encoded event, every field but the id, ending in the
	// blank line. Receivers must not modify it.
	Event []byte
}

// deliver is the broker's end of its backplane: it hands a message to the
// local clients it is for. The backplane calls it one message at a time.
func (b *Broker) deliver(m Message) {
	p := m.Event
	if m.ID != "" && len(p) > 0 {
		p = make([]byte, 0, len(m.ID)+5+len(m.Event))
		p = append(appendID(p, m.ID), m.Event...)
	}
	q := queued{p: p, event: true, id: m.ID}
	switch m.Kind {
	case KindRoom:
		b.mu.RLock()
		r := b.rooms[m.Room]
		b.mu.RUnlock()
		if r != nil {
			r.mu.Lock()
			r.deliver(q)
			r.mu.Unlock()
		}
	case KindAll:
		b.all.mu.Lock()
		b.all.deliver(q)
		b.all.mu.Unlock()
	case KindClient:
		if c := b.Client(m.Client); c != nil {
			c.enqueue(q)
		}
	case KindFilter:
		f := b.cfg.Filters[m.Filter]
		if f == nil {
			b.log.Warn("sse: backplane message for an unknown filter", "filter", m.Filter)
			return
		}
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
		p := resync("")
		if m.Room == "" {
			for c := range b.Clients() {
				c.enqueue(queued{p: p, event: true})
			}
			return
		}
		for _, c := range b.roomMembers(m.Room) {
			c.enqueue(queued{p: p, event: true})
		}
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
