package load_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/bench/internal/benchserver"
	"github.com/roomcast/sse/bench/internal/impl"
	"github.com/roomcast/sse/bench/internal/load"
	"github.com/roomcast/sse/bench/internal/wire"
)

// lossy drops every event whose sequence number is 3 mod 5.
type lossy struct{ impl.Impl }

func (l lossy) Publish(ctx context.Context, room string, data []byte) error {
	if seq, _, _ := wire.Decode(data); seq%5 == 3 {
		return nil
	}
	return l.Impl.Publish(ctx, room, data)
}

func benchServer(t *testing.T, wrap func(impl.Impl) impl.Impl) *httptest.Server {
	t.Helper()
	im, err := impl.New("floor", impl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		im = wrap(im)
	}
	ts := httptest.NewServer(benchserver.New(im))
	t.Cleanup(ts.Close)
	return ts
}

func run(t *testing.T, ts *httptest.Server, cfg load.Config) *load.Result {
	t.Helper()
	cfg.URL = ts.URL + "/events/{room}"
	cfg.Control = ts.URL
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	if err := res.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + md.String())
	return res
}

func TestThroughput(t *testing.T) {
	t.Parallel()
	res := run(t, benchServer(t, nil), load.Config{
		Mode: load.Throughput, Conns: 20, Rooms: 4, Duration: 300 * time.Millisecond, Window: 16,
	})
	if res.Ready != 20 || res.Failed != 0 || res.Dropped != 0 {
		t.Fatalf("streams: %+v", res)
	}
	if res.Rounds == 0 || res.Published != res.Rounds*4 {
		t.Fatalf("published %d events in %d rounds over 4 rooms", res.Published, res.Rounds)
	}
	if res.Deliveries != uint64(res.Rounds*20) || res.Lost != 0 || res.OutOfOrder != 0 || res.Undecodable != 0 {
		t.Fatalf("deliveries %d lost %d out of order %d undecodable %d; want %d, 0, 0, 0",
			res.Deliveries, res.Lost, res.OutOfOrder, res.Undecodable, res.Rounds*20)
	}
	if res.DeliveriesPerS <= 0 || res.Server == nil || res.Server.CPUPerMillion <= 0 || res.Latency.Count != res.Deliveries {
		t.Fatalf("rates: %+v", res)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	res := run(t, benchServer(t, nil), load.Config{
		Mode: load.Latency, Conns: 5, Rate: 100, Duration: 300 * time.Millisecond,
	})
	if res.Rounds != 30 || res.Deliveries != 150 || res.Lost != 0 {
		t.Fatalf("rounds %d deliveries %d lost %d; want 30, 150, 0", res.Rounds, res.Deliveries, res.Lost)
	}
	l := res.Latency
	if l.Count != 150 || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max || l.Max > 1000 {
		t.Fatalf("latency %+v", l)
	}
}

func TestIdle(t *testing.T) {
	t.Parallel()
	res := run(t, benchServer(t, nil), load.Config{
		Mode: load.Idle, Conns: 50, Settle: 10 * time.Millisecond,
	})
	if res.Ready != 50 || res.Server == nil || res.Server.HeapStacksPerConn <= 0 {
		t.Fatalf("idle: %+v %+v", res, res.Server)
	}
}

func TestConns(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"floor", "roomcast"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			im, err := impl.New(name, impl.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(benchserver.New(im))
			t.Cleanup(ts.Close)
			res := run(t, ts, load.Config{Mode: load.Conns, Conns: 40, Settle: 10 * time.Millisecond})
			if res.Ready != 40 || res.Dropped != 0 || res.Deliveries != 40 || res.Lost != 0 {
				t.Fatalf("streams: %+v", res)
			}
			// The server shares this process with parallel tests: its
			// growth per connection may be anything, but it was measured.
			if s := res.Server; s == nil || s.After.RSS <= 0 || s.After.Goroutines <= 0 {
				t.Fatalf("server: %+v", s)
			}
			if res.OpenS <= 0 || res.ConnectPerS() <= 0 || res.StreamsEndedS <= 0 || res.StreamsOpenAfterShutdown != 0 {
				t.Fatalf("connect or shutdown: %+v", res)
			}
		})
	}
}

func TestLossIsCounted(t *testing.T) {
	t.Parallel()
	res := run(t, benchServer(t, func(im impl.Impl) impl.Impl { return lossy{im} }), load.Config{
		Mode: load.Latency, Conns: 3, Rate: 200, Duration: 100 * time.Millisecond, Drain: 300 * time.Millisecond,
	})
	// 20 rounds; one in five dropped, wherever the phase starts.
	if res.Rounds != 20 || res.Lost != 3*4 || res.Deliveries != 3*16 {
		t.Fatalf("rounds %d lost %d deliveries %d; want 20, 12, 48", res.Rounds, res.Lost, res.Deliveries)
	}
}

func TestObserve(t *testing.T) {
	t.Parallel()
	// Any SSE server: events without sequence numbers, a heartbeat, CRLF.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, ": hb\r\n\r\nevent: tick\r\ndata: {\"i\": %d}\r\n\r\n", i); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var progress strings.Builder
	res, err := load.Run(ctx, load.Config{
		URL: ts.URL + "/feed/{room}", Conns: 4, Rooms: 2, Duration: 200 * time.Millisecond,
		Progress: &progress, ProgressEvery: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Open != 4 || res.Deliveries == 0 || res.Undecodable < res.Deliveries || res.Lost != 0 || res.Server != nil {
		t.Fatalf("observe: %+v", res)
	}
	if !strings.Contains(progress.String(), "open 4/4") {
		t.Fatalf("progress lines %q lack the open count", progress.String())
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  load.Config
		want string
	}{
		{name: "no url", cfg: load.Config{}, want: "scheme"},
		{name: "bad scheme", cfg: load.Config{URL: "ftp://x/"}, want: "scheme"},
		{name: "mode needs control", cfg: load.Config{URL: "http://x/", Mode: load.Idle}, want: "control"},
		{name: "unknown mode", cfg: load.Config{URL: "http://x/", Mode: "soak"}, want: "unknown mode"},
		{name: "more rooms than conns", cfg: load.Config{URL: "http://x/", Conns: 2, Rooms: 3}, want: "rooms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load.Run(t.Context(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	res, err := load.Run(t.Context(), load.Config{URL: url + "/", Conns: 3, Duration: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 3 || len(res.Errors) == 0 {
		t.Fatalf("failed %d errors %v; want 3 failures with a reason", res.Failed, res.Errors)
	}
}
