package clientparse_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	r3 "github.com/r3labs/sse/v2"
	"github.com/roomcast/sse/bench/internal/clientparse"
	"github.com/roomcast/sse/eventsource"
	tsse "github.com/tmaxmax/go-sse"
	"go.uber.org/goleak"
	backoff "gopkg.in/cenkalti/backoff.v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	events    = 1000
	eventSize = 128
)

// parsers read one whole stream with each client, returning the events
// they dispatched.
var parsers = []struct {
	name  string
	parse func(tb testing.TB, client *http.Client) int
}{
	{"eventsource", func(tb testing.TB, client *http.Client) int {
		es, err := eventsource.New("http://memory/", eventsource.Options{Client: client, NoReconnect: true})
		if err != nil {
			tb.Fatal(err)
		}
		defer es.Close()
		n := 0
		for {
			_, err := es.Next(context.Background())
			if errors.Is(err, eventsource.ErrStreamEnded) {
				return n
			}
			if err != nil {
				tb.Fatal(err)
			}
			n++
		}
	}},
	{"r3labs", func(tb testing.TB, client *http.Client) int {
		c := r3.NewClient("http://memory/")
		c.Connection = client
		c.ReconnectStrategy = &backoff.StopBackOff{}
		n := 0
		if err := c.SubscribeRaw(func(*r3.Event) { n++ }); err != nil {
			tb.Fatal(err)
		}
		return n
	}},
	{"tmaxmax", func(tb testing.TB, client *http.Client) int {
		c := &tsse.Client{HTTPClient: client, Backoff: tsse.Backoff{MaxRetries: -1}}
		req, err := http.NewRequest(http.MethodGet, "http://memory/", nil)
		if err != nil {
			tb.Fatal(err)
		}
		conn := c.NewConnection(req)
		n := 0
		conn.SubscribeToAll(func(tsse.Event) { n++ })
		_ = conn.Connect() // the end of the stream, with no retry left
		return n
	}},
}

// TestParsersAgree checks that every client finds every event of the
// benchmark's stream, so that the benchmark compares equal work.
func TestParsersAgree(t *testing.T) {
	client := &http.Client{Transport: clientparse.Transport{Body: clientparse.Stream(events, eventSize)}}
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			if n := p.parse(t, client); n != events {
				t.Fatalf("%d events, want %d", n, events)
			}
		})
	}
}

// BenchmarkParse reads a stream of 1000 events of 128 bytes of data
// (with id and type, 155 KB in all) with each client: MB/s of stream,
// events/s and allocations per event.
func BenchmarkParse(b *testing.B) {
	body := clientparse.Stream(events, eventSize)
	client := &http.Client{Transport: clientparse.Transport{Body: body}}
	for _, p := range parsers {
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var allocs0, allocs1 uint64
			allocs0 = mallocs()
			for b.Loop() {
				if n := p.parse(b, client); n != events {
					b.Fatalf("%d events, want %d", n, events)
				}
			}
			allocs1 = mallocs()
			total := float64(b.N) * events
			b.ReportMetric(total/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(allocs1-allocs0)/total, "allocs/event")
		})
	}
}
