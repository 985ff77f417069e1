package sse

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// canTakeOver reports whether this system can hold a taken-over stream
// without a goroutine: Linux, through an epoll set.
const canTakeOver = true

// A poller watches taken-over connections for their peer going away
// (a hang-up, a reset, or bytes the stream will never read) and for a
// full socket draining, with one goroutine blocked in epoll_wait for
// all of them. It uses the standard library's syscall package, so the
// root module needs no dependency for it.
//
// The connections stay registered with Go's own poller as well; an fd
// may be watched by several epoll sets, and this one only reads events,
// never the sockets.
type poller struct {
	epfd int
	wake [2]int // a pipe whose read end, key 0, stops the loop

	mu      sync.Mutex
	streams map[uint64]*Client
	next    uint64

	done chan struct{} // closed when the loop has returned
}

// Edge-triggered, as Go's own poller: EPOLLOUT comes once after a write
// found the socket full and it has room again; the others once each.
const pollEvents = syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | (syscall.EPOLLET & 0xffffffff)

// goneEvents are what ends a stream: the peer closed or reset the
// connection, or sent bytes (a pipelined request) that nobody will read.
const goneEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("sse: creating the epoll set for taken-over streams: %w", err)
	}
	p := &poller{epfd: epfd, streams: make(map[uint64]*Client), done: make(chan struct{})}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("sse: creating the epoll set for taken-over streams: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("sse: creating the epoll set for taken-over streams: %w", err)
	}
	go p.loop()
	return p, nil
}

func (p *poller) closeFDs() {
	syscall.Close(p.wake[0])
	syscall.Close(p.wake[1])
	syscall.Close(p.epfd)
}

// rawConn returns the connection's raw descriptor access when the
// poller can watch it: a plain TCP or Unix socket, not TLS or a wrapper.
func rawConn(conn net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch c := conn.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// add watches t's connection for c.
func (p *poller) add(c *Client, t *takeover) error {
	p.mu.Lock()
	p.next++
	t.key = p.next
	p.streams[t.key] = c
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: pollEvents}
	setKey(&ev, t.key)
	var err error
	cerr := t.raw.Control(func(fd uintptr) {
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		p.mu.Lock()
		delete(p.streams, t.key)
		p.mu.Unlock()
		return err
	}
	return nil
}

// remove stops watching t's connection; it is called before the
// connection is closed.
func (p *poller) remove(t *takeover) {
	_ = t.raw.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
	p.mu.Lock()
	delete(p.streams, t.key)
	p.mu.Unlock()
}

func setKey(ev *syscall.EpollEvent, key uint64) {
	ev.Fd = int32(uint32(key))
	ev.Pad = int32(uint32(key >> 32))
}

func eventKey(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

func (p *poller) loop() {
	defer close(p.done)
	defer p.closeFDs()
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			// Nothing can be watched any more: end every stream, which
			// the writers then close.
			p.mu.Lock()
			for _, c := range p.streams {
				c.close(ReasonClientGone)
			}
			p.mu.Unlock()
			return
		}
		for i := range events[:n] {
			ev := &events[i]
			key := eventKey(ev)
			if key == 0 {
				return
			}
			p.mu.Lock()
			c := p.streams[key]
			p.mu.Unlock()
			if c == nil {
				continue // removed since the event was read
			}
			if ev.Events&goneEvents != 0 {
				if t := c.tk.Load(); t != nil {
					t.peerGone.Store(true)
				}
				c.close(ReasonClientGone)
			}
			c.wakeUp()
		}
	}
}

// stop ends the loop and waits for it; the set and the pipe are closed.
func (p *poller) stop() {
	_, _ = syscall.Write(p.wake[1], []byte{0})
	<-p.done
}

// writeNow writes as much of b as the socket takes without waiting, and
// returns how much that was; a full socket is not an error.
func writeNow(raw syscall.RawConn, b []byte) (int, error) {
	n := 0
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, err := syscall.Write(int(fd), b[n:])
			if k > 0 {
				n += k
			}
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return true
			case err != nil:
				werr = err
				return true
			case k <= 0:
				return true
			}
		}
		return true
	})
	if werr != nil {
		return n, werr
	}
	return n, err
}
