package sse_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roomcast/sse"
)

// discardWriter is a flushing ResponseWriter that throws the stream away,
// so the benchmark measures the broker rather than the network (the
// bench/ module measures both, over loopback).
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) Flush()                      {}

// BenchmarkPublish publishes a 128-byte event to one room of n
// subscribers, each served by its own writer goroutine, and waits until
// every copy is written before stopping the timer.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			br, err := newSSE(sse.Config{HeartbeatInterval: -1, Limits: sse.Limits{QueueEvents: 1 << 20, QueueBytes: 1 << 30}})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan struct{}, n)
			for range n {
				// A context of its own per request, as net/http gives each:
				// one shared by every writer would make its channel a point
				// of contention that no server has.
				rctx, rcancel := context.WithCancel(ctx)
				defer rcancel()
				r := httptest.NewRequestWithContext(rctx, http.MethodGet, "/", nil)
				r.Header.Set("Accept", "text/event-stream")
				c, err := br.Add(&discardWriter{h: http.Header{}}, r, "room")
				if err != nil {
					b.Fatal(err)
				}
				go func() { _ = c.Serve(); served <- struct{}{} }()
			}
			ev := sse.Event{Name: "tick", Data: []byte(strings.Repeat("x", 128))}
			want := br.Stats().Delivered
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := br.Publish(ctx, "room", ev); err != nil {
					b.Fatal(err)
				}
			}
			want += uint64(b.N) * uint64(n)
			for br.Stats().Delivered < want {
				runtime.Gosched()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "deliveries/s")
			cancel()
			for range n {
				<-served
			}
			_ = br.Shutdown(context.Background())
		})
	}
}

// BenchmarkPublishRooms publishes from GOMAXPROCS goroutines at once, each
// to rooms picked in turn among 64 rooms of 16 subscribers, with history
// on (so every publish takes an id), plus a PublishAll every 64th event:
// the cost of keeping one order across rooms.
func BenchmarkPublishRooms(b *testing.B) {
	const rooms, per = 64, 16
	br, err := newSSE(sse.Config{
		HeartbeatInterval: -1,
		History:           sse.History{Size: 256},
		Limits:            sse.Limits{QueueEvents: 1 << 20, QueueBytes: 1 << 30},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{}, rooms*per)
	for i := range rooms * per {
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		r.Header.Set("Accept", "text/event-stream")
		c, err := br.Add(&discardWriter{h: http.Header{}}, r, fmt.Sprint("room", i%rooms))
		if err != nil {
			b.Fatal(err)
		}
		go func() { _ = c.Serve(); served <- struct{}{} }()
	}
	ev := sse.Event{Name: "tick", Data: []byte(strings.Repeat("x", 128))}
	names := make([]string, rooms)
	for i := range names {
		names[i] = fmt.Sprint("room", i)
	}
	want := br.Stats().Delivered
	var all atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(rooms)
		for pb.Next() {
			i++
			var err error
			if i%64 == 0 {
				all.Add(1)
				err = br.PublishAll(ctx, ev)
			} else {
				err = br.Publish(ctx, names[i%rooms], ev)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	n := int64(b.N) - all.Load()
	want += uint64(n)*per + uint64(all.Load())*rooms*per
	for br.Stats().Delivered < want {
		runtime.Gosched()
	}
	b.StopTimer()
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
	cancel()
	for range rooms * per {
		<-served
	}
	_ = br.Shutdown(context.Background())
}
