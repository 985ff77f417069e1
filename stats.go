package sse

import "sync/atomic"

// Stats is a snapshot of a broker's counters. Counts are since [New].
//
// Every event queued for a client ends up in Delivered or Dropped once
// its stream has ended. A write that fails on the default path counts
// the events of its whole batch as dropped, since net/http's buffers hide
// how much of it reached the socket; a stream taken over (Config.Dense)
// counts exactly, event by event.
type Stats struct {
	Clients         int    // connected now
	Rooms           int    // rooms with members or history now
	Published       uint64 // events accepted by Publish, PublishAll, Broadcast and Send
	Delivered       uint64 // events known written whole to a client's connection (one per recipient)
	Dropped         uint64 // events discarded because their client was dropped or went, or whose write failed (see below)
	SlowDisconnects uint64 // clients dropped because their queue was full
	Timeouts        uint64 // clients dropped because a write passed Limits.WriteTimeout
	Rejected        uint64 // requests turned away by Limits.MaxClients
	Replayed        uint64 // events replayed to reconnecting clients
	ReplayMisses    uint64 // reconnections whose Last-Event-ID could not be replayed from
}

type counters struct {
	published, delivered, dropped atomic.Uint64
	slow, timeouts, rejected      atomic.Uint64
	replayed, replayMisses        atomic.Uint64
}

// Stats returns the broker's counters. It is safe for concurrent use.
func (b *Broker) Stats() Stats {
	b.mu.RLock()
	clients, rooms := len(b.clients), len(b.rooms)
	b.mu.RUnlock()
	s := &b.stats
	return Stats{
		Clients:         clients,
		Rooms:           rooms,
		Published:       s.published.Load(),
		Delivered:       s.delivered.Load(),
		Dropped:         s.dropped.Load(),
		SlowDisconnects: s.slow.Load(),
		Timeouts:        s.timeouts.Load(),
		Rejected:        s.rejected.Load(),
		Replayed:        s.replayed.Load(),
		ReplayMisses:    s.replayMisses.Load(),
	}
}
