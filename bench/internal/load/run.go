package load

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomcast/sse/bench/internal/hist"
	"github.com/roomcast/sse/bench/internal/procstat"
)

// runner is one run: the streams, the phase marker they read, and the
// goroutines it owns.
type runner struct {
	cfg   *Config
	ctl   *control // nil in Observe mode
	conns []*conn
	phase atomic.Uint64
	// shutting is set before the server is asked to shut down (Conns):
	// the streams' ends that follow are expected, not drops.
	shutting atomic.Bool

	readers sync.WaitGroup // one per open stream

	mu     sync.Mutex
	errs   map[string]int
	failed int
}

// Run opens the streams, runs cfg.Mode and returns what it measured.
// Cancelling ctx ends the run early; what was measured so far is
// returned with ctx's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	r := &runner{cfg: &cfg, errs: map[string]int{}, conns: make([]*conn, cfg.Conns)}
	for i := range r.conns {
		r.conns[i] = newConn()
	}
	r.phase.Store(notStarted)
	if cfg.Mode != Observe {
		r.ctl = newControl(&cfg)
		defer r.ctl.close()
	}
	res := &Result{Mode: cfg.Mode, URL: cfg.URL, Conns: cfg.Conns, Rooms: cfg.Rooms}
	if cfg.Mode != Observe {
		res.Size = cfg.Size
	}

	stopProgress := r.startProgress()
	defer stopProgress()

	var baseline procstat.Sample
	var err error
	if cfg.Mode == Idle || cfg.Mode == Conns {
		if baseline, err = r.ctl.stats(ctx, true); err != nil {
			return nil, err
		}
	}
	start, cpu0 := time.Now(), cpuTime()
	if cfg.Mode == Observe {
		// Everything counts, from the first stream's first event.
		r.phase.Store(0)
	}
	r.connect(ctx)
	defer r.closeAll()
	if cfg.Mode == Conns {
		res.OpenS = r.waitOpen(ctx, start)
	}

	var m phaseResult
	switch cfg.Mode {
	case Observe:
		res.ConnectS = time.Since(start).Seconds()
		err = r.observe(ctx)
		m = phaseResult{began: start, loadCPU: cpuTime() - cpu0}
	default:
		var next uint64
		next, err = r.warmUp(ctx)
		res.ConnectS = time.Since(start).Seconds()
		if err != nil {
			break
		}
		switch cfg.Mode {
		case Idle:
			m.server, err = r.idle(ctx, baseline)
		case Conns:
			m, err = r.connsPhase(ctx, baseline, next, res)
		case Throughput:
			res.Win, res.Batch = cfg.Window, cfg.Batch
			m, err = r.measure(ctx, next, r.publishWindowed)
		case Latency:
			res.Rate = cfg.Rate
			m, err = r.measure(ctx, next, r.publishPaced)
		}
	}
	stopProgress()
	r.closeAll()
	r.collect(res, m)
	return res, err
}

// phaseResult is what a mode hands to collect.
type phaseResult struct {
	start, final   uint64 // sequence numbers: first measured, one past the last published
	began          time.Time
	rounds, events int
	loadCPU        time.Duration
	loadReads      int64
	server         *ServerResult
}

// connect opens every stream, DialConcurrency at a time.
func (r *runner) connect(ctx context.Context) {
	cfg := r.cfg
	requests := make([][]byte, cfg.Rooms)
	for i := range requests {
		requests[i] = cfg.request(cfg.room(i))
	}
	work := make(chan int)
	var dialers sync.WaitGroup
	for range cfg.DialConcurrency {
		dialers.Go(func() {
			for i := range work {
				var src net.IP
				if len(cfg.Sources) > 0 {
					src = cfg.Sources[i%len(cfg.Sources)]
				}
				c := r.conns[i]
				err := c.dial(cfg, src, requests[i%cfg.Rooms])
				if err != nil {
					// One retry: a full accept queue drops a SYN now and then.
					time.Sleep(50 * time.Millisecond)
					err = c.dial(cfg, src, requests[i%cfg.Rooms])
				}
				if err != nil {
					c.err = err
					c.closed.Store(true)
					r.fail(err)
					continue
				}
				r.readers.Go(func() { c.read(cfg.BufSize, &r.phase) })
			}
		})
	}
	for i := range r.conns {
		select {
		case work <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			for j := i; j < len(r.conns); j++ {
				r.conns[j].closed.Store(true)
			}
			break
		}
	}
	close(work)
	dialers.Wait()
}

func (r *runner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	r.errs[errKey(err)]++
}

// errKey shortens an error to what is common to many connections: the
// addresses in a dial error differ per connection.
func errKey(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Op + ": " + op.Err.Error()
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// closeAll closes every stream and waits for the readers. It may run
// more than once.
func (r *runner) closeAll() {
	for _, c := range r.conns {
		if c.nc != nil {
			c.nc.Close()
		}
	}
	r.readers.Wait()
}

// counts tallies the streams' atomics.
type counts struct {
	open, ready, closed int
	waiting             int // live streams without an event yet
	delivered           uint64
	minLast             uint64 // smallest newest sequence number over live ready streams
	lastAt              int64
}

func (r *runner) count() counts {
	k := counts{minLast: notStarted}
	for _, c := range r.conns {
		closed := c.closed.Load()
		if closed {
			k.closed++
		}
		if c.started.Load() {
			k.open++
		}
		k.delivered += c.count.Load()
		k.lastAt = max(k.lastAt, c.lastAt.Load())
		switch {
		case !c.ready.Load():
			if !closed {
				k.waiting++
			}
		case !closed:
			k.ready++
			k.minLast = min(k.minLast, c.last.Load())
		default:
			k.ready++
		}
	}
	return k
}

// observe waits for Duration after the streams are open.
func (r *runner) observe(ctx context.Context) error {
	t := time.NewTimer(r.cfg.Duration)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// warmUp publishes one round at a time until every open stream has an
// event, so that each is known to be subscribed, and returns the
// sequence number the phase starts at.
func (r *runner) warmUp(ctx context.Context) (uint64, error) {
	deadline := time.Now().Add(r.cfg.ConnectTimeout)
	var next uint64
	for {
		res, err := r.ctl.publish(ctx, 1, 0, time.Time{})
		if err != nil {
			return 0, err
		}
		next = res.FirstSeq + uint64(res.Rounds)
		// Give the round time to arrive before asking again, longer as
		// the streams grow.
		wait := time.Now().Add(50*time.Millisecond + time.Duration(r.cfg.Conns)*10*time.Microsecond)
		for time.Now().Before(wait) {
			if r.count().waiting == 0 {
				return next, nil
			}
			time.Sleep(5 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			k := r.count()
			return next, fmt.Errorf("load: only %d of %d streams ready after %v", k.ready, r.cfg.Conns, r.cfg.ConnectTimeout)
		}
		if ctx.Err() != nil {
			return next, ctx.Err()
		}
	}
}

func (r *runner) idle(ctx context.Context, baseline procstat.Sample) (*ServerResult, error) {
	select {
	case <-time.After(r.cfg.Settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	after, err := r.ctl.stats(ctx, true)
	if err != nil {
		return nil, err
	}
	s := &ServerResult{Before: baseline, After: after, CPU: after.CPU() - baseline.CPU()}
	if ready := r.count().ready; ready > 0 {
		s.RSSPerConn = float64(after.RSS-baseline.RSS) / float64(ready)
		s.HeapStacksPerConn = float64(after.HeapStacks()-baseline.HeapStacks()) / float64(ready)
		s.GoroutinesPerConn = float64(after.Goroutines-baseline.Goroutines) / float64(ready)
	}
	return s, nil
}

// measure runs a publishing phase from sequence number next with publish,
// then waits for the streams to drain.
func (r *runner) measure(ctx context.Context, next uint64, publish func(context.Context, uint64) (int, error)) (phaseResult, error) {
	before, err := r.ctl.stats(ctx, false)
	if err != nil {
		return phaseResult{}, err
	}
	m := phaseResult{start: next}
	cpu0 := cpuTime()
	reads0, _ := procstat.Syscalls()
	m.began = time.Now()
	r.phase.Store(next)

	profDone := make(chan error, 1)
	if path := r.cfg.ServerProfile; path != "" {
		secs := max(1, int(r.cfg.Duration.Round(time.Second)/time.Second))
		go func() { profDone <- r.ctl.profile(ctx, secs, path) }()
	} else {
		profDone <- nil
	}

	m.rounds, err = publish(ctx, next)
	m.final = next + uint64(m.rounds)
	m.events = m.rounds * r.cfg.Rooms
	if err == nil {
		err = r.drain(ctx, m.final)
	}
	m.loadCPU = cpuTime() - cpu0
	reads1, _ := procstat.Syscalls()
	m.loadReads = reads1 - reads0
	after, serr := r.ctl.stats(ctx, false)
	err = errors.Join(err, serr, <-profDone)
	m.server = &ServerResult{Before: before, After: after, CPU: after.CPU() - before.CPU()}
	return m, err
}

// publishWindowed publishes Batch rounds at a time for Duration, never
// more than Window rounds ahead of the slowest live stream.
func (r *runner) publishWindowed(ctx context.Context, next uint64) (int, error) {
	cfg := r.cfg
	end := time.Now().Add(cfg.Duration)
	published := next
	for time.Now().Before(end) && ctx.Err() == nil {
		if cfg.Window > 0 {
			k := r.count()
			if k.minLast == notStarted {
				return int(published - next), errors.New("load: every stream has ended")
			}
			if inFlight := published - (k.minLast + 1); inFlight+uint64(cfg.Batch) > uint64(cfg.Window) {
				time.Sleep(50 * time.Microsecond)
				continue
			}
		}
		res, err := r.ctl.publish(ctx, cfg.Batch, 0, end)
		published += uint64(res.Rounds)
		if err != nil {
			return int(published - next), err
		}
	}
	return int(published - next), ctx.Err()
}

// publishPaced publishes Rate rounds per second for Duration, paced by
// the server.
func (r *runner) publishPaced(ctx context.Context, _ uint64) (int, error) {
	rounds := max(1, int(r.cfg.Rate*r.cfg.Duration.Seconds()))
	res, err := r.ctl.publish(ctx, rounds, r.cfg.Rate, time.Time{})
	return res.Rounds, err
}

// drain waits until every live stream has the round before final, or
// Drain passes.
func (r *runner) drain(ctx context.Context, final uint64) error {
	if final == 0 {
		return nil
	}
	deadline := time.Now().Add(r.cfg.Drain)
	for {
		k := r.count()
		if k.minLast == notStarted || k.minLast+1 >= final {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return ctx.Err() // the shortfall shows as lost events
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// collect fills res from the streams, once their readers have returned.
func (r *runner) collect(res *Result, m phaseResult) {
	var lat hist.Histogram
	r.mu.Lock()
	res.Failed = r.failed
	errs := maps.Clone(r.errs)
	r.mu.Unlock()
	var lastAt int64
	for _, c := range r.conns {
		if c.started.Load() {
			res.Open++
		}
		ready := c.seen || c.undecodable > 0
		if ready {
			res.Ready++
		}
		if c.err != nil && !errors.Is(c.err, net.ErrClosed) && c.nc != nil && !r.shutting.Load() {
			res.Dropped++
			errs[errKey(c.err)]++
		}
		res.Deliveries += c.delivered
		res.Lost += c.lost
		res.OutOfOrder += c.outOfOrder
		res.Undecodable += c.undecodable
		lastAt = max(lastAt, c.lastAt.Load())
		if c.lat != nil {
			lat.Merge(c.lat)
		}
		// Events a ready stream never got at the end: dropped streams,
		// or drain ran out of time.
		if m.final > 0 && c.seen {
			if from := max(c.next, m.start); from < m.final {
				res.Lost += m.final - from
			}
		}
	}
	if r.shutting.Load() {
		res.Dropped = res.DroppedBeforeShutdown
	}
	if len(errs) > 0 {
		res.Errors = errs
	}
	res.Rounds, res.Published = m.rounds, m.events
	if !m.began.IsZero() {
		end := time.Now()
		if lastAt > 0 {
			end = time.Unix(0, lastAt)
		}
		res.DurationS = end.Sub(m.began).Seconds()
		if res.DurationS > 0 {
			res.DeliveriesPerS = float64(res.Deliveries) / res.DurationS
			res.LoadCores = m.loadCPU.Seconds() / res.DurationS
		}
	}
	res.LoadCPU = m.loadCPU.Seconds()
	if m.loadReads > 0 {
		res.EventsPerRead = float64(res.Deliveries) / float64(m.loadReads)
	}
	res.LoadRSS = procstat.RSS()
	ms := func(q float64) float64 { return float64(lat.Quantile(q).Microseconds()) / 1000 }
	res.Latency = LatencyStats{Count: lat.Count(), P50: ms(0.5), P90: ms(0.9), P99: ms(0.99), Max: ms(1)}
	if s := m.server; s != nil {
		if res.DurationS > 0 {
			s.Cores = s.CPU / res.DurationS
		}
		if res.Deliveries > 0 {
			s.CPUPerMillion = s.CPU / float64(res.Deliveries) * 1e6
			if w := s.After.Writes - s.Before.Writes; w > 0 && s.Before.Writes >= 0 {
				s.EventsPerWrite = float64(res.Deliveries) / float64(w)
			}
		}
		res.Server = s
	}
}

func cpuTime() time.Duration {
	u, s := procstat.CPUTime()
	return u + s
}

// startProgress prints a status line every ProgressEvery until the
// returned func is called; calling it again does nothing.
func (r *runner) startProgress() func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		begin := time.Now()
		prevT, prevN, prevCPU := begin, uint64(0), cpuTime()
		end := "\n"
		if r.cfg.ProgressLive {
			end = "\033[K\r"
		}
		for {
			select {
			case <-stop:
				if r.cfg.ProgressLive {
					fmt.Fprint(r.cfg.Progress, "\n")
				}
				return
			case now := <-t.C:
				k := r.count()
				cpu := cpuTime()
				dt := now.Sub(prevT).Seconds()
				r.mu.Lock()
				failed := r.failed
				r.mu.Unlock()
				fmt.Fprintf(r.cfg.Progress, "%6.1fs  open %d/%d  ready %d  ended %d  failed %d  events %d  %s/s  load cpu %.0f%%%s",
					now.Sub(begin).Seconds(), k.open, r.cfg.Conns, k.ready, k.closed-failed, failed,
					k.delivered, SI(float64(k.delivered-prevN)/dt), 100*(cpu-prevCPU).Seconds()/dt, end)
				prevT, prevN, prevCPU = now, k.delivered, cpu
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
		})
	}
}

// SI formats a count or rate with a k or M suffix.
func SI(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// waitOpen waits until every stream that did not fail has its response
// head, and returns the seconds since start; zero if no more heads came
// for a second (an implementation that sends none before the first
// event) or ConnectTimeout passed.
func (r *runner) waitOpen(ctx context.Context, start time.Time) float64 {
	deadline := start.Add(r.cfg.ConnectTimeout)
	last, lastAt := -1, time.Now()
	for ctx.Err() == nil && time.Now().Before(deadline) {
		r.mu.Lock()
		failed := r.failed
		r.mu.Unlock()
		k := r.count()
		if k.open+failed >= r.cfg.Conns {
			return time.Since(start).Seconds()
		}
		if k.open != last {
			last, lastAt = k.open, time.Now()
		} else if time.Since(lastAt) > time.Second {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return 0
}

// connsPhase measures what the open streams cost the server (as idle does),
// then one round to every stream, then the server's Shutdown: its own
// time and the time until the last stream saw its end.
func (r *runner) connsPhase(ctx context.Context, baseline procstat.Sample, next uint64, res *Result) (phaseResult, error) {
	srv, err := r.idle(ctx, baseline)
	if err != nil {
		return phaseResult{}, err
	}
	m, err := r.measure(ctx, next, func(ctx context.Context, _ uint64) (int, error) {
		pr, err := r.ctl.publish(ctx, 1, 0, time.Time{})
		return pr.Rounds, err
	})
	m.server.RSSPerConn, m.server.HeapStacksPerConn = srv.RSSPerConn, srv.HeapStacksPerConn
	m.server.GoroutinesPerConn = srv.GoroutinesPerConn
	if err != nil {
		return m, err
	}
	k := r.count()
	r.mu.Lock()
	res.DroppedBeforeShutdown = k.closed - r.failed
	r.mu.Unlock()
	r.shutting.Store(true)
	began := time.Now()
	sd, err := r.ctl.shutdown(ctx)
	res.ShutdownS = sd.Elapsed
	if err != nil {
		return m, err
	}
	// Wait for the streams to see their end; an implementation whose
	// Shutdown leaves streams open is given ten seconds.
	deadline := began.Add(10 * time.Second)
	for ctx.Err() == nil {
		k := r.count()
		if k.closed >= r.cfg.Conns {
			res.StreamsEndedS = time.Since(began).Seconds()
			break
		}
		if time.Now().After(deadline) {
			res.StreamsOpenAfterShutdown = r.cfg.Conns - k.closed
			break
		}
		time.Sleep(time.Millisecond)
	}
	return m, ctx.Err()
}
