package metrics_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roomcast/sse"
	"github.com/roomcast/sse/metrics"
)

func ExampleNew() {
	b, err := sse.New(sse.Config{})
	if err != nil {
		panic(err)
	}
	defer b.Shutdown(context.Background())

	c, err := metrics.New(b, metrics.Config{Namespace: "chat"})
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	// Serve reg with promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).

	_ = b.PublishAll(context.Background(), sse.Event{Data: "hello"})
	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range families {
		if f.GetName() == "chat_sse_events_published_total" {
			fmt.Println(f.GetName(), f.GetMetric()[0].GetCounter().GetValue())
		}
	}
	// Output: chat_sse_events_published_total 1
}
