// Package report turns a benchmark run's results into bench/results:
// RESULTS.md (the tables, the targets and how each fared, the machine) and
// a plot, from a [Report] that is also saved as JSON.
package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/roomcast/sse/bench/internal/load"
)

// Kinds of scenario.
const (
	Throughput = "throughput"
	Latency    = "latency"
	Idle       = "idle"
	// Conns is memory, connect rate, one fan-out round and Shutdown at
	// a number of connections.
	Conns = "conns"
)

// Scenario is one measured situation.
type Scenario struct {
	Name  string `json:"name"`  // short key, e.g. "fanout-1000"
	Kind  string `json:"kind"`  // Throughput, Latency or Idle
	Label string `json:"label"` // for tables and plots, e.g. "1 000 subs"
	Conns int    `json:"conns"`
	Rooms int    `json:"rooms"`
}

// Run is one implementation in one scenario, once.
type Run struct {
	Scenario string       `json:"scenario"`
	Impl     string       `json:"impl"`
	Repeat   int          `json:"repeat"`
	Result   *load.Result `json:"result,omitempty"`
	// OthersCPU is the CPU, in cores, that processes other than the
	// server and the load generator used during the run; above
	// NoisyCores the run is marked.
	OthersCPU float64 `json:"others_cpu_cores"`
	Err       string  `json:"error,omitempty"`
}

// NoisyCores is the other processes' CPU use above which a run is marked
// as disturbed.
const NoisyCores = 0.1

// Machine describes where the run happened.
type Machine struct {
	CPU     string  `json:"cpu"`
	Cores   int     `json:"cores"`
	MemGiB  float64 `json:"mem_gib"`
	Kernel  string  `json:"kernel"`
	Go      string  `json:"go"`
	Date    string  `json:"date"`
	Commit  string  `json:"commit"`
	Command string  `json:"command"`
	Notes   string  `json:"notes,omitempty"`
}

// Report is everything one sse-benchrun produced.
type Report struct {
	Machine   Machine    `json:"machine"`
	Scenarios []Scenario `json:"scenarios"`
	Impls     []string   `json:"impls"`
	Runs      []Run      `json:"runs"`
	// Profiles maps a profile's file name to the top of its listing.
	Profiles map[string]string `json:"profiles,omitempty"`
}

// Peers are the other libraries, as opposed to roomcast and the floors.
func (r *Report) Peers() []string {
	var peers []string
	for _, im := range r.Impls {
		if !strings.HasPrefix(im, "roomcast") && !strings.HasPrefix(im, "floor") {
			peers = append(peers, im)
		}
	}
	return peers
}

// Scenario returns the scenario called name.
func (r *Report) Scenario(name string) (Scenario, bool) {
	i := slices.IndexFunc(r.Scenarios, func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, false
	}
	return r.Scenarios[i], true
}

// Pick returns the run of impl in scenario that stands for it: the median
// of the repeats by the scenario's main measure, or nil if there is none
// with a result.
func (r *Report) Pick(scenario, impl string) *Run {
	sc, ok := r.Scenario(scenario)
	if !ok {
		return nil
	}
	var runs []*Run
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Scenario == scenario && run.Impl == impl && run.Result != nil {
			runs = append(runs, run)
		}
	}
	if len(runs) == 0 {
		return nil
	}
	slices.SortFunc(runs, func(a, b *Run) int { return cmp.Compare(Measure(sc.Kind, a), Measure(sc.Kind, b)) })
	return runs[(len(runs)-1)/2]
}

// Measure is the main number of a run of kind: deliveries per second,
// p99 latency in milliseconds, or heap and stacks per connection.
func Measure(kind string, run *Run) float64 {
	res := run.Result
	switch kind {
	case Throughput:
		return res.DeliveriesPerS
	case Latency:
		return res.Latency.P99
	case Idle, Conns:
		if res.Server == nil {
			return 0
		}
		return res.Server.HeapStacksPerConn
	}
	return 0
}

// Best returns the best value of the scenario's main measure over impls,
// and whose it is; ok is false where none has a result.
func (r *Report) Best(scenario string, impls []string) (value float64, impl string, ok bool) {
	sc, found := r.Scenario(scenario)
	if !found {
		return 0, "", false
	}
	for _, im := range impls {
		run := r.Pick(scenario, im)
		if run == nil {
			continue
		}
		v := Measure(sc.Kind, run)
		better := v > value
		if sc.Kind != Throughput {
			better = v < value
		}
		if !ok || better {
			value, impl, ok = v, im, true
		}
	}
	return value, impl, ok
}

// bytesLabel formats a byte count per connection.
func bytesLabel(v float64) string {
	if v >= 10*1024 || v <= -10*1024 {
		return fmt.Sprintf("%.1f KiB", v/1024)
	}
	return fmt.Sprintf("%.0f B", v)
}
