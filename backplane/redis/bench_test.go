package redis_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse"
	"github.com/roomcast/sse/backplane/redis"
	"github.com/roomcast/sse/internal/redistest"
)

// latencyWriter is a flushing ResponseWriter that reads the publish time
// (Unix nanoseconds) from each data line and records the delay.
type latencyWriter struct {
	h   http.Header
	mu  *sync.Mutex
	lat *[]time.Duration
	got *atomic.Int64
}

func (w *latencyWriter) Header() http.Header { return w.h }
func (w *latencyWriter) WriteHeader(int)     {}
func (w *latencyWriter) Flush()              {}
func (w *latencyWriter) Write(p []byte) (int, error) {
	now := time.Now().UnixNano()
	for _, line := range bytes.Split(p, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			if ts, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				w.mu.Lock()
				*w.lat = append(*w.lat, time.Duration(now-ts))
				w.mu.Unlock()
				w.got.Add(1)
			}
		}
	}
	return len(p), nil
}

// BenchmarkFanOut publishes as fast as it can to one room with 100
// subscribers on each node: one broker alone, one on Redis, then three
// on one Redis, in the same run, reporting publishes and deliveries per
// second.
func BenchmarkFanOut(b *testing.B) { benchTopologies(b, 0) }

// BenchmarkLatency publishes 500 events a second to the same topologies
// and reports the p50 and p99 publish-to-write delay.
func BenchmarkLatency(b *testing.B) { benchTopologies(b, 2*time.Millisecond) }

func benchTopologies(b *testing.B, pace time.Duration) {
	srv := redistest.Start(b)
	for _, tc := range []struct {
		nodes    int
		useRedis bool
	}{{1, false}, {1, true}, {3, true}} {
		name := fmt.Sprintf("nodes=%d/redis=%v", tc.nodes, tc.useRedis)
		b.Run(name, func(b *testing.B) { benchFanOut(b, srv.Addr, tc.nodes, tc.useRedis, pace) })
	}
}

func benchFanOut(b *testing.B, addr string, nodes int, useRedis bool, pace time.Duration) {
	const perNode = 100
	var mu sync.Mutex
	var lat []time.Duration
	var got atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var brokers []*sse.Broker
	var clients []*goredis.Client
	served := make(chan struct{}, nodes*perNode)
	for range nodes {
		cfg := sse.Config{HeartbeatInterval: -1, Limits: sse.Limits{QueueEvents: 1 << 20, QueueBytes: 1 << 30}}
		if useRedis {
			rdb := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
			clients = append(clients, rdb)
			bp, err := redis.New(redis.Config{Client: rdb, Prefix: "bench:" + b.Name() + ":"})
			if err != nil {
				b.Fatal(err)
			}
			cfg.Backplane = bp
		}
		br, err := newSSE(cfg)
		if err != nil {
			b.Fatal(err)
		}
		brokers = append(brokers, br)
		for range perNode {
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
			r.Header.Set("Accept", "text/event-stream")
			c, err := br.Add(&latencyWriter{h: http.Header{}, mu: &mu, lat: &lat, got: &got}, r, "room")
			if err != nil {
				b.Fatal(err)
			}
			go func() { _ = c.Serve(); served <- struct{}{} }()
		}
	}
	var tick <-chan time.Time
	if pace > 0 {
		t := time.NewTicker(pace)
		defer t.Stop()
		tick = t.C
	}
	b.ResetTimer()
	for i := range b.N {
		if tick != nil {
			<-tick
		}
		data := strconv.FormatInt(time.Now().UnixNano(), 10)
		if err := brokers[i%nodes].Publish(ctx, "room", sse.Event{Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N) * int64(nodes*perNode)
	deadline := time.Now().Add(time.Minute)
	for got.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", got.Load(), want)
		}
		runtime.Gosched()
	}
	b.StopTimer()
	if pace == 0 {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
	} else {
		mu.Lock()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		mu.Unlock()
	}
	b.ReportMetric(0, "ns/op")
	cancel()
	for range nodes * perNode {
		<-served
	}
	for _, br := range brokers {
		_ = br.Shutdown(context.Background())
	}
	for _, c := range clients {
		_ = c.Close()
	}
}
