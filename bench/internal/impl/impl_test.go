package impl_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roomcast/sse/bench/internal/impl"
	"github.com/roomcast/sse/bench/internal/sseread"
	"github.com/roomcast/sse/bench/internal/wire"
)

func TestNames(t *testing.T) {
	t.Parallel()
	names := impl.Names()
	want := []string{"roomcast", "roomcast-dense", "alexandrevicenzi", "r3labs", "tmaxmax", "floor", "floor-chan", "floor-park"}
	if !slices.Equal(names, want) {
		t.Errorf("Names() = %v, want %v", names, want)
	}
	if _, err := impl.New("nope", impl.Options{}); err == nil {
		t.Error("New(nope) did not fail")
	}
}

// client reads one stream and reports each event's sequence number.
type client struct {
	room string
	mu   sync.Mutex
	seqs []uint64
	err  error
}

func (c *client) got() ([]uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seqs), c.err
}

func dialStream(t *testing.T, addr, room string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /events/%s HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n", room)
	c := &client{room: room}
	d := &sseread.Decoder{Event: func(p []byte) {
		seq, _, ok := wire.Decode(p)
		c.mu.Lock()
		defer c.mu.Unlock()
		if !ok {
			c.err = fmt.Errorf("undecodable data %q", p)
			return
		}
		c.seqs = append(c.seqs, seq)
	}}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err == nil {
				err = d.Feed(buf[:n])
			}
			if err != nil {
				c.mu.Lock()
				if c.err == nil {
					c.err = err
				}
				c.mu.Unlock()
				return
			}
		}
	}()
	return c
}

// TestDelivery checks that every implementation delivers every event,
// in order, to every subscriber of the event's room and to no other.
func TestDelivery(t *testing.T) {
	t.Parallel()
	for _, name := range impl.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			perRoom := 3
			if name == "alexandrevicenzi" && raceEnabled {
				perRoom = 1 // its handlers race on the shared message (see the adapter)
			}
			// The burst below must fit the floor's queue, which drops
			// clients that fall further behind.
			im, err := impl.New(name, impl.Options{QueueEvents: 1024})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle("GET /events/{room}", im)
			ts := httptest.NewServer(mux)
			// Cleanups run last first: clients hang up, then Shutdown,
			// then the server closes.
			t.Cleanup(ts.Close)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := im.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()

			rooms := []string{"a", "b"}
			var clients []*client
			for _, room := range rooms {
				for range perRoom {
					clients = append(clients, dialStream(t, ts.Listener.Addr().String(), room))
				}
			}
			next := map[string]uint64{}
			publish := func(room string) {
				t.Helper()
				if err := im.Publish(ctx, room, wire.Encode(next[room], time.Now().UnixNano(), 128)); err != nil {
					t.Fatal(err)
				}
				next[room]++
			}
			// Subscription may finish after the request is sent: publish
			// until every client has an event, as the load generator does.
			for ready := false; !ready; {
				if ctx.Err() != nil {
					t.Fatal("clients not subscribed in time")
				}
				for _, room := range rooms {
					publish(room)
				}
				time.Sleep(10 * time.Millisecond)
				ready = true
				for _, c := range clients {
					seqs, err := c.got()
					if err != nil {
						t.Fatal(err)
					}
					ready = ready && len(seqs) > 0
				}
			}
			const n = 300
			for range n {
				publish("a")
			}
			for range n / 2 {
				publish("b")
			}
			for _, c := range clients {
				for {
					seqs, err := c.got()
					if err != nil {
						t.Fatal(err)
					}
					if seqs[len(seqs)-1] == next[c.room]-1 {
						for i := 1; i < len(seqs); i++ {
							if seqs[i] != seqs[i-1]+1 {
								t.Fatalf("room %s: seq %d after %d", c.room, seqs[i], seqs[i-1])
							}
						}
						break
					}
					select {
					case <-ctx.Done():
						t.Fatalf("room %s: last seq %d, want %d", c.room, seqs[len(seqs)-1], next[c.room]-1)
					case <-time.After(5 * time.Millisecond):
					}
				}
			}
		})
	}
}
