// Package impl adapts each SSE library under test, and the hand-written
// floor, to one small interface, so that the bench server treats them
// alike. Each adapter uses its library's defaults except where a default
// would change what is measured (replay logs and heartbeats are off);
// the adapter's comment says which.
package impl

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// Impl is one SSE broadcaster. Its ServeHTTP serves the event stream of
// the room r.PathValue("room") until the client goes; the bench server
// mounts it as "GET /events/{room}".
type Impl interface {
	http.Handler
	// Publish sends data, a single line without CR or LF, as one event
	// to every subscriber of room. It returns when the implementation
	// has accepted the event; some block until subscribers have taken it.
	Publish(ctx context.Context, room string, data []byte) error
	// Shutdown ends every stream.
	Shutdown(ctx context.Context) error
}

// Options tunes what the implementations allow to be tuned alike.
type Options struct {
	// QueueEvents is the per-client queue length for the floors, which
	// disconnect a client whose queue is full. Zero: 1024, the same as
	// roomcast's default.
	QueueEvents int
}

func (o Options) queue() int {
	if o.QueueEvents <= 0 {
		return 1024
	}
	return o.QueueEvents
}

type constructor func(Options) (Impl, error)

var registry = map[string]constructor{}

func register(name string, c constructor) {
	if _, dup := registry[name]; dup {
		panic("impl: registered twice: " + name)
	}
	registry[name] = c
}

// New returns the implementation called name.
func New(name string, o Options) (Impl, error) {
	c, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("impl: unknown implementation %q (have %v)", name, Names())
	}
	return c(o)
}

// Names lists the registered implementations: roomcast first, the floors
// last, the peers sorted between.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	rank := func(n string) int {
		switch {
		case strings.HasPrefix(n, "roomcast"):
			return 0
		case strings.HasPrefix(n, "floor"):
			return 2
		}
		return 1
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return slices.Clip(names)
}
