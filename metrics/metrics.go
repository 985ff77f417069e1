// Package metrics exports an [sse.Broker]'s [sse.Stats] as Prometheus
// metrics. It is a module of its own so that the root package, and every
// program that does not want metrics, never depends on the Prometheus
// client.
//
// Register a [Collector] and serve the registry:
//
//	reg := prometheus.NewRegistry()
//	c, err := metrics.New(b, metrics.Config{})
//	if err != nil { ... }
//	reg.MustRegister(c)
//	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The metrics, with the default "sse" prefix:
//
//	sse_clients                       gauge      connected clients
//	sse_rooms                         gauge      rooms with members or history
//	sse_events_published_total        counter    events accepted for publishing
//	sse_events_delivered_total        counter    events written to a client
//	sse_events_dropped_total          counter    queued events discarded with their client
//	sse_events_replayed_total         counter    events replayed on reconnection
//	sse_replay_misses_total           counter    reconnections that could not be replayed
//	sse_slow_disconnects_total        counter    clients dropped for a full queue
//	sse_write_timeouts_total          counter    clients dropped for a slow write
//	sse_rejected_total                counter    requests refused by Limits.MaxClients
//	sse_client_queue_events           histogram  events queued per client, at scrape time
//
// # Queue depth
//
// sse_client_queue_events is measured when Prometheus scrapes: each
// connected client adds one observation, the events waiting in its
// queue. Its count is therefore the number of clients at that moment,
// not a running total, and rate() over it means nothing; read its
// buckets directly, for instance
// sse_client_queue_events_bucket{le="64"} / ignoring(le)
// sse_client_queue_events_count for the share of clients less than 64
// events behind. A scrape visits every client once, taking each one's
// lock briefly, and never holds the broker's locks while doing so.
package metrics

import (
	"errors"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roomcast/sse"
)

// DefaultQueueBuckets are the upper bounds of the queue depth histogram
// used when Config.QueueBuckets is nil. They span an idle client (0) to
// one near sse.DefaultQueueEvents.
var DefaultQueueBuckets = []float64{0, 1, 4, 16, 64, 256, 1024}

// Config configures a [Collector]. The zero value is usable.
type Config struct {
	// Namespace is put before every metric name, as in
	// "<Namespace>_sse_clients". Empty: the names start with "sse_".
	Namespace string

	// ConstLabels are added to every metric, to tell brokers apart when
	// a process has several.
	ConstLabels prometheus.Labels

	// QueueBuckets are the upper bounds of the queue depth histogram, in
	// events, strictly increasing. Nil: DefaultQueueBuckets.
	QueueBuckets []float64
}

// Collector is a [prometheus.Collector] reading one broker. It holds no
// state of its own: every scrape reads [sse.Broker.Stats] and each
// client's [sse.Client.Queued]. It is safe for concurrent use.
type Collector struct {
	b       *sse.Broker
	buckets []float64

	clients, rooms                          *prometheus.Desc
	published, delivered, dropped, replayed *prometheus.Desc
	replayMisses, slow, timeouts, rejected  *prometheus.Desc
	queue                                   *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector for b. It returns an error if b is nil or
// Config.QueueBuckets is not strictly increasing.
func New(b *sse.Broker, cfg Config) (*Collector, error) {
	if b == nil {
		return nil, errors.New("metrics: nil broker")
	}
	buckets := cfg.QueueBuckets
	if buckets == nil {
		buckets = DefaultQueueBuckets
	}
	for i := 1; i < len(buckets); i++ {
		if buckets[i] <= buckets[i-1] {
			return nil, errors.New("metrics: QueueBuckets must be strictly increasing")
		}
	}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(cfg.Namespace, "sse", name), help, nil, cfg.ConstLabels)
	}
	return &Collector{
		b:            b,
		buckets:      slices.Clone(buckets),
		clients:      desc("clients", "Clients connected now."),
		rooms:        desc("rooms", "Rooms with members or history now."),
		published:    desc("events_published_total", "Events accepted by Publish, PublishAll, Broadcast and Send."),
		delivered:    desc("events_delivered_total", "Events written to a client, one per recipient."),
		dropped:      desc("events_dropped_total", "Queued events discarded because their client was dropped or went."),
		replayed:     desc("events_replayed_total", "Events replayed to clients reconnecting with a Last-Event-ID."),
		replayMisses: desc("replay_misses_total", "Reconnections whose Last-Event-ID could not be replayed from."),
		slow:         desc("slow_disconnects_total", "Clients dropped because their queue was full."),
		timeouts:     desc("write_timeouts_total", "Clients dropped because a write took longer than Limits.WriteTimeout."),
		rejected:     desc("rejected_total", "Requests turned away by Limits.MaxClients."),
		queue:        desc("client_queue_events", "Events waiting to be written, one observation per connected client at scrape time."),
	}, nil
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.clients, c.rooms, c.published, c.delivered, c.dropped, c.replayed,
		c.replayMisses, c.slow, c.timeouts, c.rejected, c.queue,
	} {
		ch <- d
	}
}

// Collect reads the broker and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.b.Stats()
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.clients, s.Clients)
	gauge(c.rooms, s.Rooms)
	counter(c.published, s.Published)
	counter(c.delivered, s.Delivered)
	counter(c.dropped, s.Dropped)
	counter(c.replayed, s.Replayed)
	counter(c.replayMisses, s.ReplayMisses)
	counter(c.slow, s.SlowDisconnects)
	counter(c.timeouts, s.Timeouts)
	counter(c.rejected, s.Rejected)

	// Cumulative bucket counts, as Prometheus histograms carry them.
	cum := make(map[float64]uint64, len(c.buckets))
	counts := make([]uint64, len(c.buckets))
	var n, sum uint64
	for cl := range c.b.Clients() {
		events, _ := cl.Queued()
		n++
		sum += uint64(events)
		if i, _ := slices.BinarySearch(c.buckets, float64(events)); i < len(counts) {
			counts[i]++
		}
	}
	var acc uint64
	for i, le := range c.buckets {
		acc += counts[i]
		cum[le] = acc
	}
	ch <- prometheus.MustNewConstHistogram(c.queue, n, float64(sum), cum)
}
