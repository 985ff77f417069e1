package sse_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/sseread"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFaultyPeers puts one misbehaving peer next to a healthy reader in a
// room: one that stops reading, one that reads a byte at a time, one that
// half-closes its side, one that resets the connection while the server
// is writing to it. Each is
// dropped for the reason that fits, and the healthy reader gets every
// event in order.
func TestFaultyPeers(t *testing.T) {
	t.Parallel()
	// fill publishes until the peer's writer is behind by want events
	// (it is blocked in a write that the peer does not read), or the
	// peer has been dropped already.
	fill := func(t *testing.T, c *sse.Client, publish func(), want int) {
		for i := 0; ; i++ {
			require.Less(t, i, 5000, "the writer never blocked")
			select {
			case <-c.Done():
				return
			default:
			}
			if n, _ := c.Queued(); n >= want {
				return
			}
			publish()
		}
	}
	cases := []struct {
		name         string
		writeTimeout time.Duration
		reasons      []sse.DisconnectReason
		fault        func(t *testing.T, conn net.Conn, c *sse.Client, publish func())
	}{
		{"stops reading", 500 * time.Millisecond, []sse.DisconnectReason{sse.ReasonTimeout},
			func(t *testing.T, conn net.Conn, c *sse.Client, publish func()) {
				for i := 0; ; i++ {
					require.Less(t, i, 1000, "the stalled peer was never dropped")
					fill(t, c, publish, 8)
					select {
					case <-c.Done():
						return
					case <-time.After(10 * time.Millisecond): // it may have been a slow write
					}
				}
			}},
		{"reads a byte at a time", 500 * time.Millisecond, []sse.DisconnectReason{sse.ReasonTimeout},
			func(t *testing.T, conn net.Conn, c *sse.Client, publish func()) {
				// A trickle that never lets a write finish in time.
				readerDone := make(chan struct{})
				go func() {
					defer close(readerDone)
					tick := time.NewTicker(5 * time.Millisecond)
					defer tick.Stop()
					one := make([]byte, 1)
					for range tick.C {
						if _, err := conn.Read(one); err != nil {
							return
						}
					}
				}()
				for i := 0; ; i++ {
					require.Less(t, i, 1000, "the trickling peer was never dropped")
					fill(t, c, publish, 8)
					select {
					case <-c.Done():
						_ = conn.Close()
						<-readerDone
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			}},
		{"half-closes", ssetest.Timeout, []sse.DisconnectReason{sse.ReasonClientGone},
			func(t *testing.T, conn net.Conn, c *sse.Client, publish func()) {
				require.NoError(t, conn.(*net.TCPConn).CloseWrite())
				// The server sees the request side end and ends the
				// stream; the peer reads what was sent, then a clean end.
				_ = conn.SetReadDeadline(time.Now().Add(ssetest.Timeout))
				_, err := io.Copy(io.Discard, conn)
				require.NoError(t, err)
			}},
		{"resets mid-write", ssetest.Timeout, []sse.DisconnectReason{sse.ReasonClientGone},
			func(t *testing.T, conn net.Conn, c *sse.Client, publish func()) {
				fill(t, c, publish, 8)
				require.NoError(t, conn.(*net.TCPConn).SetLinger(0))
				require.NoError(t, conn.Close())
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var writeErrs atomic.Int64
			cfg := sse.Config{
				HeartbeatInterval: -1,
				Limits:            sse.Limits{QueueEvents: 1 << 16, QueueBytes: 1 << 30, WriteTimeout: tc.writeTimeout},
				OnError:           func(*sse.Client, error) { writeErrs.Add(1) },
			}
			h := newHooks(&cfg)
			b, ts := newBroker(t, cfg)
			healthy := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
			h.client(t)
			faulty := dialStalled(t, ts.Listener.Addr().String(), "/events/r")
			c := h.client(t)
			_ = faulty.SetReadDeadline(time.Now().Add(ssetest.Timeout))
			resp, err := http.ReadResponse(bufio.NewReader(faulty), nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)

			chunk := strings.Repeat("z", 16<<10)
			published := 0
			publish := func() {
				require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(published) + chunk}))
				published++
			}
			tc.fault(t, faulty, c, publish)
			d := h.gone(t)
			assert.Same(t, c, d.c)
			assert.Contains(t, tc.reasons, d.reason)
			for range 10 { // the room goes on
				publish()
			}
			for n := range published {
				require.Equal(t, strconv.Itoa(n)+chunk, healthy.Event(t).Data, "the healthy reader's event %d", n)
			}
			st := b.Stats()
			assert.Equal(t, 1, st.Clients)
			assert.Equal(t, uint64(published), st.Published)
			assert.Zero(t, st.SlowDisconnects)
			t.Logf("%d events published; %d write errors reported to OnError", published, writeErrs.Load())
		})
	}
}

// TestPanickingHooks makes every hook panic: each panic is recovered and
// logged, and the clients and the broker carry on.
func TestPanickingHooks(t *testing.T) {
	t.Parallel()
	logs := newMemWriter()
	var calls sync.Map
	hook := func(name string) { calls.Store(name, true); panic(name + " failed") }
	cfg := sse.Config{
		History:      sse.History{Size: 10},
		Logger:       slog.New(slog.NewTextHandler(logs, nil)),
		OnConnect:    func(*sse.Client) { hook("OnConnect") },
		OnReplayMiss: func(*sse.Client, string) { hook("OnReplayMiss") },
		OnDisconnect: func(*sse.Client, sse.DisconnectReason) { hook("OnDisconnect") },
		OnError:      func(*sse.Client, error) { hook("OnError") },
	}
	b, ts := newBroker(t, cfg)

	s := ssetest.Open(t, nil, ts.URL+"/events/r", http.Header{"Last-Event-ID": {"unknown"}})
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)
	assert.Equal(t, sse.ResyncEvent, s.Event(t).Type, "the miss is still sent")
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "after panics"}))
	assert.Equal(t, "after panics", s.Event(t).Data)

	gone := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	gone.Close()
	ssetest.Wait(t, "OnDisconnect", func() bool { _, ok := calls.Load("OnDisconnect"); return ok })
	ssetest.Wait(t, "the departure to be logged", func() bool { return strings.Contains(logs.String(), "callback=OnDisconnect") })

	// A panicking job reports to OnError, which panics too.
	done := make(chan struct{})
	var once sync.Once
	_, err := b.Schedule("@every 1s", func(context.Context) {
		defer once.Do(func() { close(done) })
		panic("job failed")
	})
	require.NoError(t, err)
	select {
	case <-done:
	case <-time.After(ssetest.Timeout):
		t.Fatal("the job never ran")
	}
	ssetest.Wait(t, "OnError", func() bool { _, ok := calls.Load("OnError"); return ok })
	ssetest.Wait(t, "the job's panic to be logged", func() bool { return strings.Contains(logs.String(), "job failed") })

	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "still alive"}))
	assert.Equal(t, "still alive", s.Event(t).Data)
	out := logs.String()
	for _, name := range []string{"OnConnect", "OnReplayMiss", "OnDisconnect", "OnError"} {
		assert.Contains(t, out, "callback="+name, "the %s panic is logged", name)
	}
	assert.Contains(t, out, "sse: cron: panic")
}

// TestShutdownRaces runs Shutdown while other goroutines publish, send,
// join, leave, connect and schedule as fast as they can. Every call
// returns nil or the error that says the broker or client is gone,
// Shutdown returns in time, every stream ends, and nothing is left
// running (goleak checks at the end).
func TestShutdownRaces(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		t.Run("round "+strconv.Itoa(round), func(t *testing.T) {
			cfg := sse.Config{History: sse.History{Size: 16}}
			var clients sync.Map
			cfg.OnConnect = func(c *sse.Client) { clients.Store(c, true) }
			b, ts := newBroker(t, cfg)
			var streams []*ssetest.Stream
			for i := range 8 {
				streams = append(streams, ssetest.Open(t, nil, ts.URL+"/events/r"+strconv.Itoa(i%3), nil))
			}
			ssetest.Wait(t, "clients", func() bool { return b.Stats().Clients == 8 })

			closedOK := func(err error) bool {
				return err == nil || errors.Is(err, sse.ErrClosed) || errors.Is(err, sse.ErrClientGone)
			}
			var wg sync.WaitGroup
			var ops atomic.Int64
			errc := make(chan error, 64)
			worker := func(name string, op func(i int) (stop bool, err error)) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						stop, err := op(i)
						ops.Add(1)
						if !closedOK(err) {
							errc <- fmt.Errorf("%s: %w", name, err)
							return
						}
						if stop {
							return
						}
					}
				}()
			}
			worker("Publish", func(i int) (bool, error) {
				err := b.Publish(ctx, "r"+strconv.Itoa(i%4), sse.Event{Data: strconv.Itoa(i)})
				return errors.Is(err, sse.ErrClosed), err
			})
			worker("PublishAll", func(i int) (bool, error) {
				err := b.PublishAll(ctx, sse.Event{Data: strconv.Itoa(i)})
				return errors.Is(err, sse.ErrClosed), err
			})
			worker("Broadcast", func(i int) (bool, error) {
				err := b.Broadcast(ctx, nil, sse.Event{Data: strconv.Itoa(i)})
				return errors.Is(err, sse.ErrClosed), err
			})
			worker("Join/Leave/Send", func(i int) (bool, error) {
				var last error
				clients.Range(func(k, _ any) bool {
					c := k.(*sse.Client)
					room := "j" + strconv.Itoa(i%5)
					if err := c.Join(room); !errors.Is(err, sse.ErrClientGone) && err != nil {
						last = err
					}
					c.Leave(room)
					if err := b.Send(ctx, c, sse.Event{Data: "to you"}); err != nil {
						last = errors.Join(last, err)
					}
					return true
				})
				return errors.Is(last, sse.ErrClosed), last
			})
			worker("Add", func(i int) (bool, error) {
				s := ssetest.Open(t, nil, ts.URL+"/events/late", nil)
				defer s.Close()
				switch s.Resp.StatusCode {
				case http.StatusOK:
					return false, nil
				case http.StatusNoContent:
					return true, nil
				}
				return true, fmt.Errorf("status %d", s.Resp.StatusCode)
			})
			worker("Schedule", func(i int) (bool, error) {
				_, err := b.Schedule("@every 1h", func(context.Context) {})
				return errors.Is(err, sse.ErrClosed), err
			})

			ssetest.Wait(t, "the workers to get going", func() bool { return ops.Load() > 2000 })
			sctx, cancel := context.WithTimeout(ctx, ssetest.Timeout)
			defer cancel()
			require.NoError(t, b.Shutdown(sctx))

			waited := make(chan struct{})
			go func() { wg.Wait(); close(waited) }()
			select {
			case <-waited:
			case <-time.After(ssetest.Timeout):
				t.Fatal("a worker is stuck after Shutdown")
			}
			close(errc)
			for err := range errc {
				t.Error(err)
			}
			for _, s := range streams {
				s.Ended(t)
			}
			assert.Equal(t, 0, b.Stats().Clients)
			assert.ErrorIs(t, b.Shutdown(ctx), sse.ErrClosed)
		})
	}
}

// TestNothingLostAcrossSlowDrop stalls a client until the broker drops it
// as slow, discarding its queue; the client then reads what reached it,
// reconnects with the last id it saw, and is replayed the rest: across
// the two connections it gets every event once, in order.
func TestNothingLostAcrossSlowDrop(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{
		HeartbeatInterval: -1,
		History:           sse.History{Size: 100000},
		Limits:            sse.Limits{QueueEvents: 64, WriteTimeout: ssetest.Timeout},
	}
	h := newHooks(&cfg)
	b, ts := newBroker(t, cfg)
	conn := dialStalled(t, ts.Listener.Addr().String(), "/events/r")
	c := h.client(t)

	pad := strings.Repeat("p", 1024)
	published := 0
	publish := func() {
		require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: strconv.Itoa(published) + " " + pad}))
		published++
	}
	// One event reaches the client first, to give it an id to come back
	// with: a client dropped before any event reached it has none, and
	// reconnects as a new client (see the README's Guarantees).
	publish()
	ssetest.Wait(t, "the first event to be written", func() bool { return b.Stats().Delivered == 1 })
	for i := 0; ; i++ {
		require.Less(t, i, 100000, "the stalled client was never dropped")
		publish()
		select {
		case <-c.Done():
		default:
			continue
		}
		break
	}
	assert.Equal(t, sse.ReasonSlow, h.gone(t).reason)
	for range 100 { // missed while away
		publish()
	}

	// What reached the client before the drop, whole events only.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	r := sseread.NewReader(resp.Body, 0)
	got, last := 0, ""
	for {
		it, err := r.Next()
		if err != nil {
			break // the end of what was written: EOF, or a cut chunk
		}
		if it.Kind != sseread.KindEvent {
			continue
		}
		require.Equal(t, strconv.Itoa(got)+" "+pad, it.Data)
		got++
		last = it.LastEventID
	}
	require.NotEmpty(t, last, "some events reached the client before it stalled")
	t.Logf("%d of %d events reached the stalled client; %d dropped with its queue", got, published, b.Stats().Dropped)

	again := ssetest.Open(t, nil, ts.URL+"/events/r", http.Header{"Last-Event-ID": {last}})
	for ; got < published; got++ {
		require.Equal(t, strconv.Itoa(got)+" "+pad, again.Event(t).Data, "event %d", got)
	}
	publish()
	assert.Equal(t, strconv.Itoa(got)+" "+pad, again.Event(t).Data, "then live")
	assert.Zero(t, b.Stats().ReplayMisses)
}
