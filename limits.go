package sse

import (
	"math/rand/v2"
	"time"
)

// Defaults used where a [Limits] or [Config] field is left zero.
const (
	DefaultHeartbeatInterval = 15 * time.Second
	DefaultQueueEvents       = 1024
	DefaultQueueBytes        = 4 << 20
	DefaultWriteTimeout      = 10 * time.Second
	DefaultMaxRoomsPerClient = 256
	DefaultReconnectDelay    = 3 * time.Second
	// MaxRoomNameLen is the longest room name accepted, in bytes.
	MaxRoomNameLen = 256
	// MaxIDLen is the longest event ID accepted, in bytes. A browser
	// sends the last ID back in a Last-Event-ID header when it
	// reconnects, and servers and proxies refuse long headers (often
	// over 4 or 8 KB in all), so a longer ID would break reconnection.
	MaxIDLen = 1024
)

// Limits bounds what one broker and each of its clients may use. The zero
// value is usable: each field's comment says what zero means.
type Limits struct {
	// MaxClients caps concurrently connected clients. Over it, Add answers
	// 503 Service Unavailable with a jittered Retry-After header and
	// returns a [*LimitError]. Zero or negative: no cap.
	MaxClients int

	// MaxRoomsPerClient caps the rooms one client may be in at once.
	// Join beyond it returns a [*LimitError]. Zero: DefaultMaxRoomsPerClient;
	// negative: no cap.
	MaxRoomsPerClient int

	// QueueEvents caps the events waiting to be written to one client, and
	// QueueBytes their total size. A client whose queue would exceed either
	// is disconnected with [ReasonSlow] and counted in
	// [Stats.SlowDisconnects]; the publisher never waits. An event larger
	// than QueueBytes is refused with a [*LimitError] instead, as it
	// would drop every recipient. Zero: the defaults DefaultQueueEvents
	// and DefaultQueueBytes.
	QueueEvents int
	QueueBytes  int

	// WriteTimeout bounds each write to a client, set through
	// [net/http.ResponseController.SetWriteDeadline], so a peer that stops
	// reading is dropped (with [ReasonTimeout]) within it. The deadline is
	// moved forward only once half of it has passed, so a write is given
	// at least half of WriteTimeout. Zero:
	// DefaultWriteTimeout; negative: no deadline.
	WriteTimeout time.Duration

	// ReconnectDelay is the base of the reconnection hint given to clients
	// turned away (Retry-After, in whole seconds) and, unless Config.Retry
	// is set, to every stream when it opens (an SSE retry field, which
	// applies when the client is later dropped). The hint is drawn uniformly from
	// [ReconnectDelay, 2*ReconnectDelay) so that many clients dropped
	// together do not come back together. Zero: DefaultReconnectDelay.
	ReconnectDelay time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxRoomsPerClient == 0 {
		l.MaxRoomsPerClient = DefaultMaxRoomsPerClient
	}
	if l.QueueEvents <= 0 {
		l.QueueEvents = DefaultQueueEvents
	}
	if l.QueueBytes <= 0 {
		l.QueueBytes = DefaultQueueBytes
	}
	if l.WriteTimeout == 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.ReconnectDelay <= 0 {
		l.ReconnectDelay = DefaultReconnectDelay
	}
	return l
}

// jitter returns a delay drawn from [base, 2*base).
func jitter(base time.Duration) time.Duration {
	return base + rand.N(base)
}
