package sse

import (
	"sync"
	"time"
)

// Every write to a stream's response runs on a helper goroutine while
// the stream's handler waits for it. net/http's write path (the chunked
// writer, bufio, netFD.Write) grows a goroutine's stack from 4 to 8 KiB
// at the first flush, and a parked handler never gets it back: the
// garbage collector halves a stack only when less than a quarter of it
// is in use, and net/http's own frames under the handler (conn.serve and
// the mux) are more than that. A helper has the large stack once, for
// every stream it writes, so each parked stream keeps 4 KiB less.
//
// The handler stays the stream's only writer and hands a write over
// synchronously, so nothing else changes: a helper runs one write at a
// time, and as many helpers exist as writes run at once. Idle helpers
// wait in a LIFO free list; one unused for a whole reapEvery exits, so
// that an idle process keeps none.
type helper struct {
	work chan struct{} // a job is set; closed to make the helper exit
	done chan struct{} // the job is done
	fn   func(*Client, []queued) error
	f    func() // instead of fn
	c    *Client
	arg  []queued
	err  error
	pan  any // a panic of fn, raised again on the handler's goroutine
	used bool
}

// reapEvery is how long a helper may wait unused before it exits.
const reapEvery = 100 * time.Millisecond

var helpers struct {
	mu      sync.Mutex
	free    []*helper
	reaping bool
}

// offloadFunc runs f on a helper.
func offloadFunc(f func()) {
	h := getHelper()
	h.f = f
	h.work <- struct{}{}
	<-h.done
	putHelper(h)
}

// offload runs fn(c, arg) on a helper and returns its result.
func offload(fn func(*Client, []queued) error, c *Client, arg []queued) error {
	h := getHelper()
	h.fn, h.c, h.arg = fn, c, arg
	h.work <- struct{}{}
	<-h.done
	return putHelper(h)
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

// putHelper returns h to the free list, and the result of its job; it
// raises a panic of the job again.
func putHelper(h *helper) error {
	err, pan := h.err, h.pan
	h.fn, h.f, h.c, h.arg, h.err, h.pan = nil, nil, nil, nil, nil, nil
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
	return err
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
	if h.f != nil {
		h.f()
		return
	}
	h.err = h.fn(h.c, h.arg)
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
