package load

import (
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/roomcast/sse/bench/internal/hist"
	"github.com/roomcast/sse/bench/internal/sseread"
	"github.com/roomcast/sse/bench/internal/wire"
)

// notStarted is phaseStart before the measured phase: no sequence
// number reaches it.
const notStarted = math.MaxUint64

// conn is one subscriber. Its reader goroutine owns every field but the
// atomics, which the monitor reads.
type conn struct {
	started atomic.Bool   // the response head was read
	ready   atomic.Bool   // an event arrived
	closed  atomic.Bool   // the reader has returned
	last    atomic.Uint64 // sequence number of the newest event
	lastAt  atomic.Int64  // when the newest measured event arrived, Unix ns
	count   atomic.Uint64 // measured deliveries

	nc  net.Conn
	dec sseread.Decoder

	// Per-read state used by the decoder's Event callback.
	now   int64
	phase uint64

	delivered   uint64 // measured events; published to count after each read
	lastSeq     uint64 // published to last after each read
	next        uint64 // sequence number expected next
	seen        bool   // an event with a sequence number arrived
	lost        uint64
	outOfOrder  uint64
	undecodable uint64
	lat         *hist.Histogram
	err         error
}

func newConn() *conn {
	c := &conn{}
	c.dec.Event = c.event
	return c
}

// dial opens the connection and sends the request.
func (c *conn) dial(cfg *Config, src net.IP, request []byte) error {
	d := net.Dialer{Timeout: cfg.ConnectTimeout}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	nc, err := d.Dial("tcp", cfg.target.Host)
	if err != nil {
		return err
	}
	if cfg.target.TLS {
		tc := tls.Client(nc, &tls.Config{ServerName: cfg.target.Hostname, InsecureSkipVerify: cfg.Insecure}) //nolint:gosec // the user asked for it
		nc = tc
	}
	if _, err := nc.Write(request); err != nil {
		nc.Close()
		return err
	}
	c.nc = nc
	return nil
}

// read runs until the connection fails or is closed; phase points at the
// first measured sequence number.
func (c *conn) read(bufSize int, phase *atomic.Uint64) {
	defer c.closed.Store(true)
	buf := make([]byte, bufSize)
	for {
		n, err := c.nc.Read(buf)
		if n > 0 {
			c.now = time.Now().UnixNano()
			c.phase = phase.Load()
			before, wasReady := c.delivered, c.seen
			if ferr := c.dec.Feed(buf[:n]); ferr != nil {
				c.err = ferr
				return
			}
			if !c.started.Load() && c.dec.Started() {
				c.started.Store(true)
			}
			if c.delivered != before {
				c.count.Store(c.delivered)
				c.lastAt.Store(c.now)
			}
			if c.seen {
				c.last.Store(c.lastSeq)
				if !wasReady {
					c.ready.Store(true)
				}
			}
			if c.dec.Ended() {
				c.err = errServerClosed
				return
			}
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
				c.err = err
			} else if errors.Is(err, io.EOF) {
				c.err = errServerClosed
			}
			return
		}
	}
}

var errServerClosed = errors.New("server closed the stream")

// event handles one event; it runs on the reader goroutine inside Feed.
func (c *conn) event(data []byte) {
	seq, ts, ok := wire.Decode(data)
	if !ok {
		c.undecodable++
		if c.phase != notStarted {
			c.delivered++
		}
		if !c.ready.Load() {
			c.ready.Store(true)
		}
		return
	}
	c.lastSeq = seq
	if seq < c.phase {
		c.next, c.seen = max(c.next, seq+1), true
		return
	}
	c.delivered++
	want := max(c.next, c.phase)
	switch {
	case !c.seen && c.phase == 0:
		// Observing a server that numbers its own events: the first
		// one sets where counting starts.
	case seq > want:
		c.lost += seq - want
	case seq < want:
		c.outOfOrder++
	}
	c.next, c.seen = max(c.next, seq+1), true
	if c.lat == nil {
		c.lat = new(hist.Histogram)
	}
	c.lat.Record(time.Duration(c.now - ts))
}
