package exact

import (
	"net"
	"sync"
	"testing"
	"time"
)

// DelayProxy forwards TCP connections on a loopback port to a target,
// holding every byte back by a fixed delay in each direction: a slow
// network between a node and Redis.
type DelayProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// NewDelayProxy starts a proxy to target, closed at the test's end.
func NewDelayProxy(t testing.TB, target string, delay time.Duration) *DelayProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &DelayProxy{ln: ln, target: target, delay: delay, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.Close)
	return p
}

// Addr is the address to dial instead of the target.
func (p *DelayProxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy, cuts its connections and waits for its
// goroutines.
func (p *DelayProxy) Close() {
	p.once.Do(func() {
		close(p.done)
		_ = p.ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
	})
	p.wg.Wait()
}

// track registers c, or closes it and reports false once closing.
func (p *DelayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		_ = c.Close()
		return false
	default:
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *DelayProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			return
		}
		d, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(d) {
			_ = c.Close()
			continue
		}
		p.wg.Go(func() { p.pipe(c, d) })
		p.wg.Go(func() { p.pipe(d, c) })
	}
}

type chunk struct {
	due time.Time
	b   []byte
}

// pipe copies src to dst through a delay queue: this goroutine reads and
// stamps each chunk, another writes it once it is due.
func (p *DelayProxy) pipe(src, dst net.Conn) {
	queue := make(chan chunk, 1024)
	p.wg.Go(func() { p.write(dst, src, queue) })
	defer close(queue)
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case queue <- chunk{time.Now().Add(p.delay), buf[:n]}:
			case <-p.done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *DelayProxy) write(dst, src net.Conn, queue <-chan chunk) {
	failed := false
	wait := time.NewTimer(0)
	defer wait.Stop()
	for ch := range queue {
		if failed {
			continue // drain, so that the reader is never stuck
		}
		if d := time.Until(ch.due); d > 0 {
			wait.Reset(d) // the delay itself; synchronises nothing
			select {
			case <-wait.C:
			case <-p.done:
				failed = true
				continue
			}
		}
		if _, err := dst.Write(ch.b); err != nil {
			failed = true
			_ = dst.Close()
			_ = src.Close()
		}
	}
	// The source is done: pass its end on.
	if tc, ok := dst.(*net.TCPConn); ok && !failed {
		_ = tc.CloseWrite()
	} else {
		_ = dst.Close()
	}
}
