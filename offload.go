package sse

import (
	"sync"
	"time"
)

// Add runs on a helper goroutine while the stream's handler waits for
// it. Registering a client and net/http's first flush grow a goroutine's
// stack from 4 to 8 KiB, and a handler whose stack grew there early
// keeps it: on a fresh goroutine each instead, 3 000 idle streams cost
// 23.6 KiB each, on these helpers 21.7 (heap and stacks, bench conns;
// the writes, on the handler, leave its stack shrinkable, see park).
// The handover is synchronous, so nothing else changes; a panic is
// raised again on the handler's goroutine. Each broker has its own
// helpers (so that one made in a testing/synctest bubble stays in it);
// as many exist as Adds run at once, idle ones wait in a LIFO free list,
// one unused for a whole reapEvery exits, so that an idle broker keeps
// none, and Shutdown stops them all.
type helper struct {
	work  chan struct{} // a job is set; closed to make the helper exit
	done  chan struct{} // the job is done
	f     func()
	async bool // nobody waits for f: the helper puts itself back
	pan   any  // a panic of f, raised again on the caller's goroutine
	used  bool
}

// reapEvery is how long a helper may wait unused before it exits.
const reapEvery = 100 * time.Millisecond

type helpers struct {
	mu      sync.Mutex
	free    []*helper
	reaping bool
	stopped bool
}

// run runs f on a helper and waits for it; on the caller's goroutine
// once the helpers are stopped.
func (hs *helpers) run(f func()) {
	h := hs.get()
	if h == nil {
		f()
		return
	}
	h.f = f
	h.work <- struct{}{}
	<-h.done
	hs.put(h)
}

// spawn runs f on a helper without waiting for it, as a go statement
// would, but on a goroutine that exists already: one made per stream
// would make the runtime start every new goroutine (net/http's among
// them) with a larger stack, about 1 KiB more a stream. f must not panic.
func (hs *helpers) spawn(f func()) {
	h := hs.get()
	if h == nil {
		go f()
		return
	}
	h.f, h.async = f, true
	h.work <- struct{}{}
}

func (hs *helpers) get() *helper {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.stopped {
		return nil
	}
	if n := len(hs.free); n > 0 {
		h := hs.free[n-1]
		hs.free[n-1] = nil
		hs.free = hs.free[:n-1]
		return h
	}
	h := &helper{work: make(chan struct{}), done: make(chan struct{})}
	go h.loop(hs)
	return h
}

// put returns h to the free list; it raises a panic of its job again.
func (hs *helpers) put(h *helper) {
	pan := h.pan
	h.f, h.pan = nil, nil
	hs.mu.Lock()
	if hs.stopped {
		close(h.work)
	} else {
		h.used = true
		hs.free = append(hs.free, h)
		if !hs.reaping {
			hs.reaping = true
			go hs.reap()
		}
	}
	hs.mu.Unlock()
	if pan != nil {
		panic(pan)
	}
}

// stop ends every idle helper; a busy one ends when its job is done.
func (hs *helpers) stop() {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.stopped = true
	for _, h := range hs.free {
		close(h.work)
	}
	hs.free = nil
}

func (h *helper) loop(hs *helpers) {
	for range h.work {
		if h.async {
			h.f()
			h.async = false
			hs.put(h)
			continue
		}
		h.call()
		h.done <- struct{}{}
	}
}

func (h *helper) call() {
	defer func() {
		if p := recover(); p != nil {
			h.pan = p
		}
	}()
	h.f()
}

// reap stops the helpers left unused for a whole reapEvery, and returns
// when none is left.
func (hs *helpers) reap() {
	t := time.NewTicker(reapEvery)
	defer t.Stop()
	for range t.C {
		hs.mu.Lock()
		keep := hs.free[:0]
		for _, h := range hs.free {
			if h.used {
				h.used = false
				keep = append(keep, h)
			} else {
				close(h.work)
			}
		}
		clear(hs.free[len(keep):])
		hs.free = keep
		if len(keep) == 0 {
			hs.reaping = false
			hs.mu.Unlock()
			return
		}
		hs.mu.Unlock()
	}
}
