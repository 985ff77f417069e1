package sse

import "time"

// heartbeat is the keep-alive comment. The blank line after it lets
// line-oriented proxies and readers see a complete block.
var heartbeat = []byte(": heartbeat\n\n")

// startBackground starts the broker's one maintenance goroutine: it beats
// every HeartbeatInterval and frees rooms whose history has aged out. No
// timer or goroutine exists per client.
func (b *Broker) startBackground() {
	period := b.beat
	if period < 0 {
		// No heartbeat; sweep aged history only when it can age.
		if b.cfg.History.Size <= 0 || b.cfg.History.MaxAge <= 0 {
			return
		}
		period = b.cfg.History.MaxAge
	}
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-b.done:
				return
			case now := <-t.C:
				if b.beat > 0 {
					b.beatOnce()
				}
				if b.cfg.History.MaxAge > 0 {
					b.sweep(now)
				}
			}
		}
	}()
}

// beatOnce queues a heartbeat for every client that was written no event
// since the previous beat.
func (b *Broker) beatOnce() {
	b.all.mu.Lock()
	defer b.all.mu.Unlock()
	for _, c := range b.all.members {
		if !c.wrote.Swap(false) {
			c.enqueue(queued{p: heartbeat})
		}
	}
}

// sweep frees member-less rooms whose history has aged out.
func (b *Broker) sweep(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.rooms {
		r.mu.Lock()
		if r.idle(now) {
			b.freeLocked(r)
		}
		r.mu.Unlock()
	}
	b.all.mu.Lock()
	b.all.hist.trim(now)
	b.all.mu.Unlock()
}
