// Package load is the load generator behind sse-load: it opens many SSE
// streams over raw TCP, decodes them with [sseread.Decoder], checks each
// event's sequence number and publish time, and, pointed at a bench
// server's control endpoints, drives the benchmark scenarios.
//
// Every stream has its own reader goroutine with a fixed buffer; events
// are never copied or allocated, so that the generator costs as little
// CPU as the kernel lets it. The result reports that cost next to the
// server's.
package load

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// Modes of a run.
const (
	// Observe only connects and counts: for any SSE endpoint.
	Observe = "observe"
	// Throughput publishes as fast as the implementation accepts, keeping
	// at most Window rounds between the publisher and the slowest
	// subscriber.
	Throughput = "throughput"
	// Latency publishes Rate rounds per second.
	Latency = "latency"
	// Idle connects, sends each stream one event, and measures the
	// server's memory.
	Idle = "idle"
	// Conns is Idle, then one round to every stream (deliveries per
	// second and latency of that round), then the server's Shutdown,
	// timed: what a number of connections costs.
	Conns = "conns"
)

// Config describes one run. Fields left zero take the defaults given.
type Config struct {
	// URL of the event stream, http or https. "{room}" in it is replaced
	// by each connection's room name.
	URL string
	// Conns is the number of streams (default 100). Connection i joins
	// room i mod Rooms.
	Conns int
	// Rooms is how many rooms the connections are spread over (default
	// 1), named RoomPrefix0, RoomPrefix1, ... unless RoomNames is set.
	Rooms      int
	RoomPrefix string // default "r"
	RoomNames  []string
	// Sources are local addresses to connect from, used in turn, so that
	// one target can take more connections than one source address has
	// ephemeral ports (about 28 000 on Linux by default).
	Sources []net.IP
	// Headers are extra request header lines ("Name: value").
	Headers []string
	// Insecure skips TLS certificate checks for https URLs.
	Insecure bool

	DialConcurrency int           // dials at once (default 64)
	ConnectTimeout  time.Duration // per dial, and for all streams to be ready (default 30s)
	BufSize         int           // read buffer per stream (default 4096)

	// Mode is Observe (default), Throughput, Latency or Idle; all but
	// Observe need Control.
	Mode string
	// Control is the base URL of an sse-bench-server (http://host:port).
	Control string
	// Duration of the measured phase (default 5s); in Observe mode, of
	// the whole run after connecting.
	Duration time.Duration
	// Window bounds the rounds published but not yet received by the
	// slowest stream, in Throughput mode (default 64; negative: no
	// bound). Keep it below the smallest per-client queue under test, or
	// clients that disconnect slow consumers will.
	Window int
	// Batch is how many rounds one publish request carries (default:
	// Window/4, so that the publisher is never more than a quarter of the
	// window from stalling; 8 without a window).
	Batch int
	// Rate is rounds per second in Latency mode (default 200).
	Rate float64
	// Size is the payload size in bytes (default 128).
	Size int
	// Settle is the pause before idle memory is read (default 2s).
	Settle time.Duration
	// Drain bounds the wait for the last events after publishing stops
	// (default 10s).
	Drain time.Duration
	// ServerProfile, if set, is a file to write the server's CPU profile
	// of the measured phase to (Throughput and Latency).
	ServerProfile string

	// Progress receives a status line every ProgressEvery (default 1s);
	// nil: none. With ProgressLive the line is redrawn in place.
	Progress      io.Writer
	ProgressEvery time.Duration
	ProgressLive  bool

	target target
}

type target struct {
	TLS        bool
	Host       string // host:port to dial
	HostHeader string
	Hostname   string
	Path       string // with {room}
}

// placeholder stands for {room} while the URL is parsed.
const placeholder = "sse-load-room-placeholder"

func (c *Config) setDefaults() error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Conns, 100)
	def(&c.Rooms, 1)
	def(&c.DialConcurrency, 64)
	def(&c.BufSize, 4096)
	def(&c.Window, 64)
	def(&c.Size, 128)
	defDur(&c.ConnectTimeout, 30*time.Second)
	defDur(&c.Duration, 5*time.Second)
	defDur(&c.Settle, 2*time.Second)
	defDur(&c.Drain, 10*time.Second)
	defDur(&c.ProgressEvery, time.Second)
	if c.Rate == 0 {
		c.Rate = 200
	}
	if c.RoomPrefix == "" {
		c.RoomPrefix = "r"
	}
	if c.Mode == "" {
		c.Mode = Observe
	}
	if len(c.RoomNames) > 0 {
		c.Rooms = len(c.RoomNames)
	}
	if c.Batch == 0 {
		c.Batch = 8
		if c.Window > 0 {
			c.Batch = max(1, c.Window/4)
		}
	}
	switch {
	case c.Conns < 1 || c.Rooms < 1 || c.Rooms > c.Conns:
		return fmt.Errorf("load: need 1 <= rooms (%d) <= conns (%d)", c.Rooms, c.Conns)
	case c.BufSize < 512:
		return errors.New("load: buffer below 512 bytes")
	case c.Rate < 0 || c.Batch < 1 || c.DialConcurrency < 1:
		return errors.New("load: rate, batch and dial concurrency must be positive")
	}
	switch c.Mode {
	case Observe:
	case Throughput, Latency, Idle, Conns:
		if c.Control == "" {
			return fmt.Errorf("load: mode %s needs a control URL", c.Mode)
		}
		if len(c.RoomNames) > 0 {
			return errors.New("load: room names are for observe mode; the bench server names rooms by prefix")
		}
	default:
		return fmt.Errorf("load: unknown mode %q", c.Mode)
	}
	t, err := parseTarget(c.URL)
	if err != nil {
		return err
	}
	c.target = t
	return nil
}

func parseTarget(raw string) (target, error) {
	// {room} is not valid in a URL path as parsed; swap it out first.
	u, err := url.Parse(strings.ReplaceAll(raw, "{room}", placeholder))
	if err != nil {
		return target{}, fmt.Errorf("load: url: %w", err)
	}
	t := target{Hostname: u.Hostname(), Host: u.Host, HostHeader: u.Host}
	switch u.Scheme {
	case "http":
		if u.Port() == "" {
			t.Host = net.JoinHostPort(u.Hostname(), "80")
		}
	case "https":
		t.TLS = true
		if u.Port() == "" {
			t.Host = net.JoinHostPort(u.Hostname(), "443")
		}
	default:
		return target{}, fmt.Errorf("load: url %q: scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return target{}, fmt.Errorf("load: url %q has no host", raw)
	}
	t.Path = strings.ReplaceAll(u.RequestURI(), placeholder, "{room}")
	return t, nil
}

// room returns the name of room i.
func (c *Config) room(i int) string {
	if len(c.RoomNames) > 0 {
		return c.RoomNames[i]
	}
	return fmt.Sprintf("%s%d", c.RoomPrefix, i)
}

// request returns the HTTP request for a stream of room.
func (c *Config) request(room string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n",
		strings.ReplaceAll(c.target.Path, "{room}", url.PathEscape(room)), c.target.HostHeader)
	for _, h := range c.Headers {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}
