package sse

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
)

// Lock order: Broker.order.mu, then Broker.mu, then room.mu (the
// all-clients room first, then rooms by name), then Client.mu. No lock
// is held while writing to the network or calling a user callback.

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
	// freedAt holds, by name, the newest position evicted from a room
	// that was then freed (all its events aged out): a client resuming
	// from before it may have missed events that no room remembers.
	// freedForgot is the newest position forgotten from it (see
	// forgetFreed).
	freedAt     map[string]uint64
	freedForgot uint64

	order    order
	nclients atomic.Int64
	stats    counters
	noRoom   atomic.Bool // the missing {room} wildcard has been logged

	bp        Backplane
	histSize  int // Config.History.Size as given; with a backplane, history is kept there
	done      chan struct{}
	wg        sync.WaitGroup // handlers between Add and the end of Serve
	bg        sync.WaitGroup // heartbeat and sweeping
	closeOnce sync.Once

	helpers helpers // run Add (see offload.go)

	// wr writes the streams taken over with Config.Dense; it starts with
	// the first.
	wrOnce sync.Once
	wrMu   sync.Mutex
	wr     *writers

	cronMu    sync.Mutex
	cron      *cron.Cron
	jobCtx    context.Context
	jobCancel context.CancelFunc
}

// New returns a running Broker. It returns an error wrapping
// [ErrInvalidConfig] for a Config it cannot use, and the Backplane's
// error if attaching it fails.
func New(cfg Config) (*Broker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Broker{
		cfg:      cfg,
		limits:   cfg.Limits.withDefaults(),
		log:      cfg.Logger,
		rooms:    make(map[string]*room),
		clients:  make(map[string]*Client),
		freedAt:  make(map[string]uint64),
		bp:       cfg.Backplane,
		histSize: cfg.History.Size,
		done:     make(chan struct{}),
	}
	if b.bp != nil {
		// History lives in the backplane, shared by every node.
		b.cfg.History = History{}
	} else {
		b.order.start(time.Now())
	}
	b.all = newRoom("*", b.cfg.History, 0)
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.cfg.Room == nil {
		b.cfg.Room = defaultRoom
	}
	b.beat = cfg.HeartbeatInterval
	if b.beat == 0 {
		b.beat = DefaultHeartbeatInterval
	}
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

// kept reports whether rooms' events are kept for replay, here or in the
// backplane, so that they have positions.
func (b *Broker) kept() bool { return b.histSize > 0 }

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
	b.mu.RLock()
	if name == "*" {
		defer b.mu.RUnlock()
		return len(b.clients)
	}
	r := b.rooms[name]
	b.mu.RUnlock()
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// Rooms returns the names of the rooms that have members or history,
// sorted.
func (b *Broker) Rooms() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return slices.Sorted(maps.Keys(b.rooms))
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
		b.helpers.stop()
		b.stopWriters()
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
