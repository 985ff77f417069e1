// Package clients_test runs SSE clients that people already use against
// an sse.Broker, to back the README's Clients section: what each does
// with the data-less block a stream opens with, and with
// Config.OmitOpeningBlock.
package clients_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	r3labs "github.com/r3labs/sse/v2"
	"github.com/roomcast/sse"
	tmaxmax "github.com/tmaxmax/go-sse"
	"gopkg.in/cenkalti/backoff.v1"
)

// timeout bounds every wait of these tests.
const timeout = 10 * time.Second

// received is one event as a client handed it to the application.
type received struct {
	name, data string
}

// client subscribes to url until ctx ends, handing every event it
// delivers to got; connect returns when it has stopped.
type client struct {
	name    string
	connect func(ctx context.Context, url string, got chan<- received) error
}

var clients = []client{
	{"r3labs/sse", func(ctx context.Context, url string, got chan<- received) error {
		c := r3labs.NewClient(url)
		c.ReconnectStrategy = &backoff.StopBackOff{} // once, so that it stops with ctx
		return c.SubscribeRawWithContext(ctx, func(e *r3labs.Event) {
			got <- received{string(e.Event), string(e.Data)}
		})
	}},
	{"tmaxmax/go-sse", func(ctx context.Context, url string, got chan<- received) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		c := &tmaxmax.Client{Backoff: tmaxmax.Backoff{MaxRetries: -1}}
		conn := c.NewConnection(req)
		conn.SubscribeToAll(func(e tmaxmax.Event) { got <- received{e.Type, e.Data} })
		return conn.Connect()
	}},
}

// TestOpeningBlock connects each client to a broker and publishes one
// event once the client is registered. By default the stream opens with
// a retry hint, a block without data, and both clients hand it to the
// application as an empty event before the real one; with
// OmitOpeningBlock they hand over the real event first.
func TestOpeningBlock(t *testing.T) {
	for _, cl := range clients {
		for _, omit := range []bool{false, true} {
			name := cl.name + "/default"
			if omit {
				name = cl.name + "/OmitOpeningBlock"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				before := eventsBeforeFirst(t, cl, sse.Config{OmitOpeningBlock: omit})
				if omit {
					if len(before) != 0 {
						t.Fatalf("events before the first one published: %q", before)
					}
					return
				}
				if len(before) != 1 || before[0] != (received{}) {
					t.Fatalf("events before the first one published: %q; want one empty event", before)
				}
			})
		}
	}
}

// eventsBeforeFirst serves a broker with cfg on loopback, connects cl,
// publishes "hello" once the client is registered, and returns what cl
// delivered before it.
func eventsBeforeFirst(t *testing.T, cl client, cfg sse.Config) []received {
	t.Helper()
	connected := make(chan struct{}, 1)
	cfg.HeartbeatInterval = -1
	cfg.OnConnect = func(*sse.Client) { connected <- struct{}{} }
	b, err := sse.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	ts := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan received, 16)
	stopped := make(chan error, 1)
	go func() { stopped <- cl.connect(ctx, ts.URL+"/events/lobby", got) }()
	defer func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(timeout):
			t.Errorf("%s did not stop", cl.name)
		}
		shutdown, done := context.WithTimeout(context.Background(), timeout)
		defer done()
		_ = b.Shutdown(shutdown)
		ts.Close()
	}()

	select {
	case <-connected:
	case err := <-stopped:
		t.Fatalf("%s stopped: %v", cl.name, err)
	case <-time.After(timeout):
		t.Fatalf("%s did not connect", cl.name)
	}
	if err := b.PublishAll(ctx, sse.Event{Name: "greeting", Data: "hello"}); err != nil {
		t.Fatal(err)
	}
	var before []received
	for {
		select {
		case r := <-got:
			if r == (received{"greeting", "hello"}) {
				return before
			}
			before = append(before, r)
		case err := <-stopped:
			t.Fatalf("%s stopped: %v", cl.name, err)
		case <-time.After(timeout):
			t.Fatalf("%s delivered no event; before: %q", cl.name, before)
		}
	}
}
