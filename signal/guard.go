package signal

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// guardWindow is the period over which Config.FailedAuthLimit counts.
const guardWindow = time.Minute

// guard counts the failed authorizations of each client address in fixed
// windows of guardWindow, for Config.FailedAuthLimit.
type guard struct {
	limit int

	mu      sync.Mutex
	addrs   map[string]*strikes
	sweepAt int       // sweep expired entries when the map grows to this,
	swept   time.Time // or a window after the last sweep
}

type strikes struct {
	n     int
	since time.Time // the start of the window
}

func newGuard(limit int) *guard {
	if limit <= 0 {
		return nil
	}
	return &guard{limit: limit, addrs: make(map[string]*strikes), sweepAt: 1024, swept: time.Now()}
}

// blocked reports whether addr has used up its failures in the current
// window, and how long until the window ends.
func (g *guard) blocked(addr string) (time.Duration, bool) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.addrs[addr]
	if s == nil || now.Sub(s.since) >= guardWindow {
		return 0, false
	}
	return guardWindow - now.Sub(s.since), s.n >= g.limit
}

// fail counts a failed authorization by addr.
func (g *guard) fail(addr string) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.addrs[addr]
	if s == nil || now.Sub(s.since) >= guardWindow {
		if len(g.addrs) >= g.sweepAt || now.Sub(g.swept) >= guardWindow {
			// Forget the windows that are over, so that the map holds
			// about one window's worth of addresses; sweeping when it
			// doubles or once a window keeps the cost linear.
			g.swept = now
			for a, s := range g.addrs {
				if now.Sub(s.since) >= guardWindow {
					delete(g.addrs, a)
				}
			}
			g.sweepAt = max(1024, 2*len(g.addrs))
		}
		s = &strikes{since: now}
		g.addrs[addr] = s
	}
	s.n++
}

// clientAddr is the address a request came from: the host of RemoteAddr.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
