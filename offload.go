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
// raised again on the handler's goroutine. As many helpers exist as
// Adds run at once; idle ones wait in a LIFO free list, and one unused
// for a whole reapEvery exits, so that an idle process keeps none.
type helper struct {
	work chan struct{} // a job is set; closed to make the helper exit
	done chan struct{} // the job is done
	f    func()
	pan  any // a panic of f, raised again on the caller's goroutine
	used bool
}

// reapEvery is how long a helper may wait unused before it exits.
const reapEvery = 100 * time.Millisecond

var helpers struct {
	mu      sync.Mutex
	free    []*helper
	reaping bool
}

// offloadFunc runs f on a helper and waits for it.
func offloadFunc(f func()) {
	h := getHelper()
	h.f = f
	h.work <- struct{}{}
	<-h.done
	putHelper(h)
}

func getHelper() *helper {
	helpers.mu.Lock()
	var h *helper
	if n := len(helpers.free); n > 0 {
		h = helpers.free[n-1]
		helpers.free[n-1] = nil
		helpers.free = helpers.free[:n-1]
	}
	helpers.mu.Unlock()
	if h == nil {
		h = &helper{work: make(chan struct{}), done: make(chan struct{})}
		go h.run()
	}
	return h
}

// putHelper returns h to the free list; it raises a panic of its job
// again.
func putHelper(h *helper) {
	pan := h.pan
	h.f, h.pan = nil, nil
	helpers.mu.Lock()
	h.used = true
	helpers.free = append(helpers.free, h)
	if !helpers.reaping {
		helpers.reaping = true
		go reapHelpers()
	}
	helpers.mu.Unlock()
	if pan != nil {
		panic(pan)
	}
}

func (h *helper) run() {
	for range h.work {
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

// reapHelpers stops the helpers left unused for a whole reapEvery, and
// returns when none is left.
func reapHelpers() {
	t := time.NewTicker(reapEvery)
	defer t.Stop()
	for range t.C {
		helpers.mu.Lock()
		keep := helpers.free[:0]
		for _, h := range helpers.free {
			if h.used {
				h.used = false
				keep = append(keep, h)
			} else {
				close(h.work)
			}
		}
		clear(helpers.free[len(keep):])
		helpers.free = keep
		if len(keep) == 0 {
			helpers.reaping = false
			helpers.mu.Unlock()
			return
		}
		helpers.mu.Unlock()
	}
}
