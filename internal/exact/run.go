package exact

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomcast/sse"
)

// Node is one broker under test and the base URL of its [Handler].
type Node struct {
	URL    string
	Broker *sse.Broker
}

// Config describes a run. Zero fields take the defaults named.
type Config struct {
	Nodes      []Node
	Reference  int           // the node whose observer defines the order
	Lineages   int           // 40
	Rooms      int           // 6; each lineage is in 1 to 4 of them
	Publishers int           // 4 goroutines, each publishing to random rooms and nodes
	Duration   time.Duration // of publishing: 2s; SSE_EXACT_DURATION or SSE_EXACT_LONG override it
	CallerIDs  float64       // the share of events with a caller id: 0.1
	PublishAll float64       // the share of PublishAll: 0.05
	Pace       time.Duration // a publisher pauses up to this between publishes: 2ms
	// MaxAge is the brokers' History.MaxAge: one lineage in seven stays
	// away longer than it before resuming.
	MaxAge time.Duration
	// Lifetime bounds how long a connection lives before it is cut: 300ms.
	Lifetime time.Duration
	// GapResyncs allows resyncs mid-stream (see [Options]).
	GapResyncs bool
	// Faults, if set, runs while publishers publish and returns when its
	// context ends.
	Faults func(ctx context.Context, rng *rand.Rand)
	// Drain bounds the wait, after publishing, for every lineage to catch
	// up with the reference: 5s.
	Drain time.Duration
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Lineages, 40)
	def(&c.Rooms, 6)
	def(&c.Publishers, 4)
	if c.Duration <= 0 {
		c.Duration = 2 * time.Second
	}
	if c.CallerIDs == 0 {
		c.CallerIDs = 0.1
	}
	if c.PublishAll == 0 {
		c.PublishAll = 0.05
	}
	if c.Pace <= 0 {
		c.Pace = 2 * time.Millisecond
	}
	if c.Lifetime <= 0 {
		c.Lifetime = 300 * time.Millisecond
	}
	if c.Drain <= 0 {
		c.Drain = 5 * time.Second
	}
}

// Seed returns SSE_EXACT_SEED, or a fresh random seed.
func Seed(t testing.TB) uint64 {
	t.Helper()
	if s := os.Getenv("SSE_EXACT_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SSE_EXACT_SEED=%q: %v", s, err)
		}
		return n
	}
	return rand.Uint64()
}

// longRun is the publishing time of SSE_EXACT_LONG=1.
const longRun = 2 * time.Minute

// duration applies SSE_EXACT_DURATION and SSE_EXACT_LONG (1, or a
// duration) to d.
func duration(t testing.TB, d time.Duration) time.Duration {
	t.Helper()
	for _, name := range []string{"SSE_EXACT_DURATION", "SSE_EXACT_LONG"} {
		s := os.Getenv(name)
		if s == "" || s == "0" {
			continue
		}
		if name == "SSE_EXACT_LONG" && s == "1" {
			return longRun
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, s, err)
		}
		return v
	}
	return d
}

// Run drives the workload on cfg.Nodes, then checks what every lineage
// and observer read; it fails t with the violations, the seed and the
// workload, and returns the result.
func Run(t testing.TB, cfg Config) *Result {
	t.Helper()
	cfg.defaults()
	cfg.Duration = duration(t, cfg.Duration)
	seed := Seed(t)
	r := newRunner(cfg, seed)
	t.Logf("exact: %s", r.workload())
	res := r.run(t)
	st := r.stats()
	t.Logf("exact: %s", st)
	if res.Failed() {
		t.Errorf("exactness violated; replay with SSE_EXACT_SEED=%d go test -race -run '^%s$'\nworkload: %s\nrun: %s\n%s",
			seed, t.Name(), r.workload(), st, res.Format(3, 30))
	}
	return res
}

type runner struct {
	cfg    Config
	seed   uint64
	rooms  []string
	client *http.Client
	tr     *http.Transport

	drain chan struct{}       // closed when publishing is over and the fence is placed
	fence atomic.Pointer[key] // the fence's id, once the reference has it

	mu   sync.Mutex
	pubs map[string]Pub
	errs int // failed publishes

	lineages  []*lineage
	observers []*lineage
}

func newRunner(cfg Config, seed uint64) *runner {
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	r := &runner{cfg: cfg, seed: seed, tr: tr, client: &http.Client{Transport: tr},
		drain: make(chan struct{}), pubs: map[string]Pub{}}
	for i := range cfg.Rooms {
		r.rooms = append(r.rooms, "r"+strconv.Itoa(i))
	}
	for i := range cfg.Lineages {
		rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
		rooms := append([]string(nil), r.rooms...)
		rng.Shuffle(len(rooms), func(a, b int) { rooms[a], rooms[b] = rooms[b], rooms[a] })
		rooms = rooms[:1+rng.IntN(min(4, len(rooms)))]
		slices.Sort(rooms)
		r.lineages = append(r.lineages, newLineage(r, fmt.Sprintf("lineage %d", i), rooms, rng))
	}
	for i := range cfg.Nodes {
		o := newLineage(r, fmt.Sprintf("observer node %d", i), nil, nil)
		o.node = i
		r.observers = append(r.observers, o)
	}
	return r
}

func (r *runner) workload() string {
	c := r.cfg
	return fmt.Sprintf("seed %d: %d nodes (reference %d), %d lineages in %d rooms, %d publishers for %v pausing up to %v, %.0f%% caller ids, %.0f%% PublishAll, connections cut within %v, MaxAge %v, gap resyncs allowed %v",
		r.seed, len(c.Nodes), c.Reference, c.Lineages, c.Rooms, c.Publishers, c.Duration, c.Pace,
		100*c.CallerIDs, 100*c.PublishAll, c.Lifetime, c.MaxAge, c.GapResyncs)
}

func (r *runner) run(t testing.TB) *Result {
	t.Helper()
	defer r.tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ref := r.observers[r.cfg.Reference]
	fenced := make(chan struct{})
	ref.onFence = func(id string) {
		if k, ok, _ := parseKey(id); ok {
			r.fence.Store(&k)
		}
		close(fenced)
	}
	// Observers first: registered once their headers are in, so that
	// they see every event.
	for _, o := range r.observers {
		o.stream = open(ctx, r.client, o.node, r.cfg.Nodes[o.node].URL, r.rooms, "", false, o.onRec)
		if o.stream.conn.Status != http.StatusOK {
			t.Fatalf("exact: %s: status %d %s", o.name, o.stream.conn.Status, o.stream.conn.Err)
		}
	}
	var wg sync.WaitGroup
	for _, l := range r.lineages {
		wg.Go(func() { l.run(ctx) })
	}
	stop := make(chan struct{})
	var pubs sync.WaitGroup
	for i := range r.cfg.Publishers {
		pubs.Go(func() { r.publish(i, stop) })
	}
	fctx, fcancel := context.WithCancel(ctx)
	if r.cfg.Faults != nil {
		pubs.Go(func() { r.cfg.Faults(fctx, rand.New(rand.NewPCG(r.seed, 1<<32))) })
	}
	publishing := time.NewTimer(r.cfg.Duration) // paces the workload; synchronises nothing
	<-publishing.C
	close(stop)
	fcancel()
	pubs.Wait()

	res := &Result{}
	err := r.cfg.Nodes[r.cfg.Reference].Broker.PublishAll(ctx, sse.Event{Data: fenceToken})
	r.pubs[fenceToken] = Pub{Room: "*", OK: err == nil}
	dctx, dcancel := context.WithTimeout(ctx, r.cfg.Drain)
	defer dcancel()
	select {
	case <-fenced:
	case <-ref.stream.done:
	case <-dctx.Done():
	}
	close(r.drain)
	all := make(chan struct{})
	go func() {
		wg.Wait()
		for _, o := range r.observers {
			if o != ref {
				select {
				case <-o.reached:
				case <-o.stream.done:
				case <-ctx.Done():
				}
			}
		}
		close(all)
	}()
	select {
	case <-all:
	case <-dctx.Done():
	}
	ended := make([]bool, len(r.observers))
	for i, o := range r.observers {
		ended[i] = o.stream.ended()
	}
	cancel()
	<-all
	wg.Wait()
	for i, o := range r.observers {
		o.stream.stop()
		o.trace.Conns = append(o.trace.Conns, o.stream.conn)
		if ended[i] {
			res.add(KindReferenceEnded, o.name, "its stream ended before the run did: %s", o.stream.conn.Err)
		}
	}
	if _, ok := ref.seenFence(); !ok {
		res.add(KindReferenceEnded, ref.name, "never received the final PublishAll")
	}
	var traces []Trace
	for _, l := range r.lineages {
		traces = append(traces, l.trace)
	}
	for _, o := range r.observers {
		if o != ref {
			traces = append(traces, o.trace)
		}
	}
	check(res, r.pubs, ref.trace, traces, Options{GapResyncs: r.cfg.GapResyncs})
	if path := os.Getenv("SSE_EXACT_DUMP"); path != "" && res.Failed() {
		// Every trace, for reading a failure connection by connection.
		dump, err := json.MarshalIndent(map[string]any{"reference": ref.trace, "traces": traces, "pubs": r.pubs}, "", " ")
		if err == nil {
			err = os.WriteFile(path, dump, 0o644)
		}
		if err != nil {
			t.Logf("exact: SSE_EXACT_DUMP: %v", err)
		}
	}
	return res
}

// publish publishes until stop: random rooms (or PublishAll), random
// nodes, some caller ids, each event's data a unique token.
func (r *runner) publish(p int, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(r.seed, 1<<20+uint64(p)))
	pause := time.NewTimer(0)
	defer pause.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-pause.C:
		}
		tok := fmt.Sprintf("p%d-%d", p, n)
		ev := sse.Event{Data: tok}
		if rng.Float64() < r.cfg.CallerIDs {
			ev.ID = "c-" + tok
		}
		node := r.cfg.Nodes[rng.IntN(len(r.cfg.Nodes))]
		room := "*"
		var err error
		if rng.Float64() < r.cfg.PublishAll {
			err = node.Broker.PublishAll(context.Background(), ev)
		} else {
			room = r.rooms[rng.IntN(len(r.rooms))]
			err = node.Broker.Publish(context.Background(), room, ev)
		}
		r.mu.Lock()
		r.pubs[tok] = Pub{Room: room, CallerID: ev.ID, OK: err == nil}
		if err != nil {
			r.errs++
		}
		r.mu.Unlock()
		pause.Reset(time.Duration(rng.Int64N(int64(r.cfg.Pace) + 1)))
	}
}

func (r *runner) stats() string {
	conns, resumed, query, resyncs, positions, failed := 0, 0, 0, 0, 0, 0
	for _, l := range r.lineages {
		for _, c := range l.trace.Conns {
			conns++
			if c.Status != http.StatusOK {
				failed++
			}
			if c.LastID != "" {
				resumed++
			}
			if c.ByQuery {
				query++
			}
			for _, rec := range c.Recs {
				switch rec.Kind {
				case RecResync:
					resyncs++
				case RecPosition:
					positions++
				}
			}
		}
	}
	return fmt.Sprintf("%d events published (%d failed), %d connections (%d resumed, %d by lastEventId, %d not opened), %d resyncs, %d position blocks",
		len(r.pubs), r.errs, conns, resumed, query, failed, resyncs, positions)
}
