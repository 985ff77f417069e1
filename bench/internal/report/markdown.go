package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/roomcast/sse/bench/internal/load"
)

// Target is one goal of issues #4 and #15 and how this run fared against
// it.
type Target struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
	Known    bool   `json:"known"` // false when a run it needs is missing
}

// Targets evaluates the goals: ratios within this one run.
func (r *Report) Targets() []Target {
	var ts []Target
	peers := r.Peers()
	for _, sc := range r.Scenarios {
		if sc.Kind != Throughput || sc.Rooms != 1 || sc.Conns < 1000 {
			continue
		}
		rc := r.Pick(sc.Name, "roomcast")
		best, bestImpl, okPeer := r.Best(sc.Name, peers)
		t := Target{Goal: fmt.Sprintf("throughput at %s ≥ 2× best peer", sc.Label)}
		if rc != nil && okPeer && best > 0 {
			ratio := rc.Result.DeliveriesPerS / best
			t.Known, t.Met = true, ratio >= 2
			t.Measured = fmt.Sprintf("roomcast %s/s, %s %s/s: %.2f×", load.SI(rc.Result.DeliveriesPerS), bestImpl, load.SI(best), ratio)
		}
		ts = append(ts, t)
		floor := r.Pick(sc.Name, "floor")
		t = Target{Goal: fmt.Sprintf("throughput at %s ≥ 0.9× floor", sc.Label)}
		if rc != nil && floor != nil && floor.Result.DeliveriesPerS > 0 {
			ratio := rc.Result.DeliveriesPerS / floor.Result.DeliveriesPerS
			t.Known, t.Met = true, ratio >= 0.9
			t.Measured = fmt.Sprintf("roomcast %s/s, floor %s/s: %.2f×", load.SI(rc.Result.DeliveriesPerS), load.SI(floor.Result.DeliveriesPerS), ratio)
		}
		ts = append(ts, t)
	}
	for _, sc := range r.Scenarios {
		switch sc.Kind {
		case Idle:
			ts = append(ts, r.memoryTargets(sc, peers)...)
		case Latency:
			rc := r.Pick(sc.Name, "roomcast")
			best, bestImpl, okPeer := r.Best(sc.Name, peers)
			t := Target{Goal: fmt.Sprintf("p99 latency at %s ≤ best peer", sc.Label)}
			if rc != nil && okPeer {
				t.Known, t.Met = true, rc.Result.Latency.P99 <= best
				t.Measured = fmt.Sprintf("roomcast %.2f ms, %s %.2f ms", rc.Result.Latency.P99, bestImpl, best)
			}
			ts = append(ts, t)
		}
	}
	ts = append(ts, r.connsTargets(peers)...)
	t := Target{Goal: "no lost event for a client that keeps up", Known: true, Met: true}
	var losers []string
	for _, sc := range r.Scenarios {
		for _, im := range r.Impls {
			run := r.Pick(sc.Name, im)
			if run == nil || sc.Kind == Idle {
				continue
			}
			if sc.Kind == Conns && run.Result.Lost == 0 && run.Result.Dropped == 0 {
				continue
			}
			if res := run.Result; res.Lost > 0 || res.Dropped > 0 {
				losers = append(losers, fmt.Sprintf("%s in %s: %d lost, %d dropped", im, sc.Label, res.Lost, res.Dropped))
				if im == "roomcast" {
					t.Met = false
				}
			}
		}
	}
	t.Measured = "none lost an event"
	if len(losers) > 0 {
		t.Measured = strings.Join(losers, "; ")
	}
	return append(ts, t)
}

func (r *Report) memoryTargets(sc Scenario, peers []string) []Target {
	rc := r.Pick(sc.Name, "roomcast")
	floor := r.Pick(sc.Name, "floor")
	best, bestImpl, okPeer := r.Best(sc.Name, peers)
	t1 := Target{Goal: fmt.Sprintf("idle heap+stacks per connection at %s ≤ best peer", sc.Label)}
	t2 := Target{Goal: fmt.Sprintf("idle heap+stacks per connection at %s within 1 KiB of floor", sc.Label)}
	if rc == nil || rc.Result.Server == nil {
		return []Target{t1, t2}
	}
	mine := rc.Result.Server.HeapStacksPerConn
	if okPeer {
		t1.Known, t1.Met = true, mine <= best
		t1.Measured = fmt.Sprintf("roomcast %s, %s %s", bytesLabel(mine), bestImpl, bytesLabel(best))
	}
	if floor != nil && floor.Result.Server != nil {
		f := floor.Result.Server.HeapStacksPerConn
		t2.Known, t2.Met = true, mine-f <= 1024
		t2.Measured = fmt.Sprintf("roomcast %s, floor %s: %+.0f B", bytesLabel(mine), bytesLabel(f), mine-f)
	}
	return []Target{t1, t2}
}

// connsTargets are issue #15's goals for memory per idle connection, at
// the largest number of connections measured. The default path's goal
// as the issue wrote it (20 KiB) lies below what net/http alone costs,
// which floor-park measures; the goal it holds instead is to add at most
// 1.5 KiB to that.
func (r *Report) connsTargets(peers []string) []Target {
	var sc Scenario
	for _, s := range r.OfKind(Conns) {
		if s.Conns > sc.Conns {
			sc = s
		}
	}
	if sc.Conns == 0 {
		return nil
	}
	rss := func(im string) (float64, bool) {
		run := r.Pick(sc.Name, im)
		if run == nil || run.Result.Server == nil || run.Result.Server.RSSPerConn <= 0 {
			return 0, false
		}
		return run.Result.Server.RSSPerConn, true
	}
	var best float64
	var bestImpl string
	for _, im := range peers {
		if v, ok := rss(im); ok && (bestImpl == "" || v < best) {
			best, bestImpl = v, im
		}
	}
	dense, okDense := rss("roomcast-dense")
	def, okDef := rss("roomcast")
	park, okPark := rss("floor-park")
	t1 := Target{Goal: fmt.Sprintf("dense RSS per connection at %s ≤ 6 KiB", sc.Label)}
	if okDense {
		t1.Known, t1.Met = true, dense <= 6*1024
		t1.Measured = "roomcast-dense " + bytesLabel(dense)
	}
	t2 := Target{Goal: fmt.Sprintf("dense RSS per connection at %s ≤ best peer", sc.Label)}
	if okDense && bestImpl != "" {
		t2.Known, t2.Met = true, dense <= best
		t2.Measured = fmt.Sprintf("roomcast-dense %s, %s %s", bytesLabel(dense), bestImpl, bytesLabel(best))
	}
	t3 := Target{Goal: fmt.Sprintf("default RSS per connection at %s ≤ 20 KiB, as issue #15 asked", sc.Label)}
	if okDef {
		t3.Known, t3.Met = true, def <= 20*1024
		t3.Measured = "roomcast " + bytesLabel(def)
		if okPark {
			t3.Measured += fmt.Sprintf("; net/http alone (floor-park) %s", bytesLabel(park))
		}
	}
	t4 := Target{Goal: fmt.Sprintf("default RSS per connection at %s within 1.5 KiB of floor-park", sc.Label)}
	if okDef && okPark {
		t4.Known, t4.Met = true, def-park <= 1536
		t4.Measured = fmt.Sprintf("roomcast %s, floor-park %s: %+.0f B", bytesLabel(def), bytesLabel(park), def-park)
	}
	return []Target{t1, t2, t3, t4}
}

// Markdown renders the report; plot is the plot's file name, relative to
// the Markdown file.
func (r *Report) Markdown(plot string) string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "# Benchmark results\n\n")
	fmt.Fprintf(&b, "Run on %s: %s, %d cores, %.0f GiB, Linux %s, %s; commit %s.\n\n", m.Date, m.CPU, m.Cores, m.MemGiB, m.Kernel, m.Go, m.Commit)
	fmt.Fprintf(&b, "Command (in `bench/`): `%s`\n\n", m.Command)
	if m.Notes != "" {
		fmt.Fprintf(&b, "%s\n\n", m.Notes)
	}
	fmt.Fprintf(&b, "Server and load generator are separate processes on loopback and share the machine's cores. "+
		"Ratios are within this one run. A † marks a run during which other processes used more than %.1f cores.\n\n", NoisyCores)
	if plot != "" && r.HasBars() {
		fmt.Fprintf(&b, "![benchmark plot](%s)\n\n", plot)
	}
	if len(r.OfKind(Conns)) > 0 {
		fmt.Fprintf(&b, "![memory per connection against connections](%s)\n\n", ConnsPlot)
	}

	b.WriteString("## Targets\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, t := range r.Targets() {
		verdict := "met"
		switch {
		case !t.Known:
			verdict, t.Measured = "not measured", "—"
		case !t.Met:
			verdict = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Goal, t.Measured, verdict)
	}
	b.WriteString("\n")

	r.throughputTable(&b)
	r.latencyTable(&b)
	r.idleTable(&b)
	r.connsTable(&b)
	r.cpuTable(&b)
	r.failures(&b)
	r.profiles(&b)
	return b.String()
}

// OfKind returns the scenarios of kind, in order.
func (r *Report) OfKind(kind string) []Scenario {
	var out []Scenario
	for _, sc := range r.Scenarios {
		if sc.Kind == kind {
			out = append(out, sc)
		}
	}
	return out
}

func mark(run *Run) string {
	if run.OthersCPU > NoisyCores {
		return " †"
	}
	return ""
}

// tableHead ends a table's header row, begun with "| implementation |":
// a column per scenario, then the extra columns, all right-aligned.
func tableHead(b *strings.Builder, scs []Scenario, extra ...string) {
	for _, sc := range scs {
		fmt.Fprintf(b, " %s |", sc.Label)
	}
	for _, e := range extra {
		fmt.Fprintf(b, " %s |", e)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(scs)+len(extra)) + "\n")
}

func (r *Report) throughputTable(b *strings.Builder) {
	scs := r.OfKind(Throughput)
	if len(scs) == 0 {
		return
	}
	b.WriteString("## Fan-out throughput\n\nDeliveries per second (events received by all subscribers), 128-byte events, " +
		"published as fast as the implementation accepts them while the slowest subscriber is at most the window behind " +
		"(see README). Lost: events a subscriber should have had and did not; dropped: streams the server ended.\n\n| implementation |")
	tableHead(b, scs, "lost", "dropped")
	for _, im := range r.Impls {
		fmt.Fprintf(b, "| %s |", im)
		var lost uint64
		var dropped int
		for _, sc := range scs {
			run := r.Pick(sc.Name, im)
			if run == nil {
				b.WriteString(" — |")
				continue
			}
			fmt.Fprintf(b, " %s%s |", load.SI(run.Result.DeliveriesPerS), mark(run))
			lost += run.Result.Lost
			dropped += run.Result.Dropped
		}
		fmt.Fprintf(b, " %d | %d |\n", lost, dropped)
	}
	b.WriteString("\n")
}

func (r *Report) latencyTable(b *strings.Builder) {
	for _, sc := range r.OfKind(Latency) {
		fmt.Fprintf(b, "## Latency: %s\n\nPublish to receive, in milliseconds, across all subscribers.\n\n"+
			"| implementation | p50 | p99 | max | deliveries | lost |\n|---|---:|---:|---:|---:|---:|\n", sc.Label)
		for _, im := range r.Impls {
			run := r.Pick(sc.Name, im)
			if run == nil {
				fmt.Fprintf(b, "| %s | — | — | — | — | — |\n", im)
				continue
			}
			l := run.Result.Latency
			fmt.Fprintf(b, "| %s | %.2f | %.2f%s | %.2f | %d | %d |\n", im, l.P50, l.P99, mark(run), l.Max, run.Result.Deliveries, run.Result.Lost)
		}
		b.WriteString("\n")
	}
}

func (r *Report) idleTable(b *strings.Builder) {
	for _, sc := range r.OfKind(Idle) {
		fmt.Fprintf(b, "## Idle memory per connection: %s\n\n"+
			"Server growth from before the first connection to after the last one settled (each has had one event), "+
			"both read after a forced GC, divided by the connections.\n\n"+
			"| implementation | heap + stacks | RSS | goroutines per connection |\n|---|---:|---:|---:|\n", sc.Label)
		for _, im := range r.Impls {
			run := r.Pick(sc.Name, im)
			if run == nil || run.Result.Server == nil || run.Result.Ready == 0 {
				fmt.Fprintf(b, "| %s | — | — | — |\n", im)
				continue
			}
			s := run.Result.Server
			g := float64(s.After.Goroutines-s.Before.Goroutines) / float64(run.Result.Ready)
			fmt.Fprintf(b, "| %s | %s | %s | %.1f |\n", im, bytesLabel(s.HeapStacksPerConn), bytesLabel(s.RSSPerConn), g)
		}
		b.WriteString("\n")
	}
}

func (r *Report) cpuTable(b *strings.Builder) {
	scs := slices.Concat(r.OfKind(Throughput), r.OfKind(Latency))
	if len(scs) == 0 {
		return
	}
	b.WriteString("## CPU\n\nServer CPU seconds per million deliveries, with events per write system call " +
		"(how well the server batches) in brackets; then the most CPU the load generator used in any of these runs, " +
		"in cores, so that it is not mistaken for the bottleneck.\n\n| implementation |")
	tableHead(b, scs, "load generator")
	for _, im := range r.Impls {
		fmt.Fprintf(b, "| %s |", im)
		var load float64
		for _, sc := range scs {
			run := r.Pick(sc.Name, im)
			if run == nil || run.Result.Server == nil {
				b.WriteString(" — |")
				continue
			}
			s := run.Result.Server
			fmt.Fprintf(b, " %.2f s (%.1f) |", s.CPUPerMillion, s.EventsPerWrite)
			load = max(load, run.Result.LoadCores)
		}
		fmt.Fprintf(b, " %.2f |\n", load)
	}
	b.WriteString("\n")
}

func (r *Report) failures(b *strings.Builder) {
	var lines []string
	for _, run := range r.Runs {
		if run.Err != "" {
			lines = append(lines, fmt.Sprintf("- %s, %s, repeat %d: %s", run.Impl, run.Scenario, run.Repeat, run.Err))
		}
		if run.Result != nil {
			for e, n := range run.Result.Errors {
				lines = append(lines, fmt.Sprintf("- %s, %s, repeat %d: %d× %s", run.Impl, run.Scenario, run.Repeat, n, e))
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	sort.Strings(lines)
	b.WriteString("## Errors\n\n" + strings.Join(lines, "\n") + "\n\n")
}

func (r *Report) profiles(b *strings.Builder) {
	if len(r.Profiles) == 0 {
		return
	}
	names := make([]string, 0, len(r.Profiles))
	for n := range r.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteString("## Profiles\n\nServer CPU profiles of throughput phases (`go tool pprof -top`); the files are in `profiles/`.\n\n")
	for _, n := range names {
		fmt.Fprintf(b, "### %s\n\n```\n%s\n```\n\n", n, strings.TrimSpace(r.Profiles[n]))
	}
}

func (r *Report) connsTable(b *strings.Builder) {
	scs := r.OfKind(Conns)
	if len(scs) == 0 {
		return
	}
	b.WriteString("## Connections\n\n" +
		"For each number of connections, one room: server growth from before the first connection to 2 s after the last " +
		"(each has had one event), read after a forced GC, per connection; the rate at which streams opened " +
		"(dial to response head, DialConcurrency 64); one round, one event to every stream, from publish to the last " +
		"delivery (deliveries/s and p99 publish-to-receive); the server's Shutdown call and the time until the last " +
		"stream saw its end. `open` counts streams still open 10 s after Shutdown returned.\n\n" +
		"| implementation | conns | heap + stacks | RSS | goroutines | connect/s | round deliveries/s | round p99 | Shutdown | last stream ended | open |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, im := range r.Impls {
		for _, sc := range scs {
			run := r.Pick(sc.Name, im)
			if run == nil || run.Result.Server == nil || run.Result.Ready == 0 {
				fmt.Fprintf(b, "| %s | %s | — | — | — | — | — | — | — | — | — |\n", im, sc.Label)
				continue
			}
			res, s := run.Result, run.Result.Server
			fmt.Fprintf(b, "| %s | %s | %s | %s | %.2f | %s | %s%s | %.1f ms | %s | %s | %d |\n",
				im, sc.Label, bytesLabel(s.HeapStacksPerConn), bytesLabel(s.RSSPerConn), s.GoroutinesPerConn,
				load.SI(res.ConnectPerS()), load.SI(res.DeliveriesPerS), mark(run), res.Latency.P99,
				seconds(res.ShutdownS), seconds(res.StreamsEndedS), res.StreamsOpenAfterShutdown)
		}
	}
	b.WriteString("\n")
}

func seconds(s float64) string {
	switch {
	case s == 0:
		return "—"
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}

// HasBars reports whether the report has a scenario for the bar charts.
func (r *Report) HasBars() bool {
	return len(r.OfKind(Throughput))+len(r.OfKind(Latency))+len(r.OfKind(Idle)) > 0
}
