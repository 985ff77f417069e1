package load

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/roomcast/sse/bench/internal/procstat"
)

// Result is what one run measured. Counts cover the measured phase only.
type Result struct {
	Mode  string  `json:"mode"`
	URL   string  `json:"url"`
	Conns int     `json:"conns"`
	Rooms int     `json:"rooms"`
	Size  int     `json:"size,omitempty"`
	Win   int     `json:"window,omitempty"`
	Batch int     `json:"batch,omitempty"`
	Rate  float64 `json:"rate,omitempty"`

	Open     int            `json:"open"`    // streams whose response head arrived
	Ready    int            `json:"ready"`   // streams that received an event before the phase
	Failed   int            `json:"failed"`  // streams that could not be opened
	Dropped  int            `json:"dropped"` // streams that ended before the run did
	Errors   map[string]int `json:"errors,omitempty"`
	ConnectS float64        `json:"connect_s"` // time to open and ready every stream
	// OpenS is the time until every stream had its response head (Conns;
	// zero where some had none before their first event).
	OpenS float64 `json:"open_s,omitempty"`

	// Conns mode: the server's Shutdown call, the time from asking for
	// it until the last stream ended, and the streams still open ten
	// seconds after it (an implementation whose Shutdown ends nothing).
	ShutdownS                float64 `json:"shutdown_s,omitempty"`
	StreamsEndedS            float64 `json:"streams_ended_s,omitempty"`
	StreamsOpenAfterShutdown int     `json:"streams_open_after_shutdown,omitempty"`
	DroppedBeforeShutdown    int     `json:"-"`

	Rounds         int     `json:"rounds"`    // rounds published in the phase
	Published      int     `json:"published"` // events published in the phase
	Deliveries     uint64  `json:"deliveries"`
	Lost           uint64  `json:"lost"`         // events a stream should have had and did not
	OutOfOrder     uint64  `json:"out_of_order"` // events older than one already received
	Undecodable    uint64  `json:"undecodable"`  // events without a sequence number and time
	DurationS      float64 `json:"duration_s"`   // phase start to last delivery
	DeliveriesPerS float64 `json:"deliveries_per_s"`

	Latency LatencyStats `json:"latency"`

	LoadCPU   float64 `json:"load_cpu_s"` // this generator's CPU in the phase
	LoadCores float64 `json:"load_cores"` // LoadCPU over DurationS
	LoadRSS   int64   `json:"load_rss_bytes"`
	// EventsPerRead is deliveries per read system call here.
	EventsPerRead float64 `json:"events_per_read,omitempty"`

	Server *ServerResult `json:"server,omitempty"`
}

// LatencyStats is publish-to-receive time in milliseconds.
type LatencyStats struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// ServerResult is the bench server's side: samples at the start and end
// of the phase (for Idle: before the first connection and after the
// last one settled) and what follows from them.
type ServerResult struct {
	Before procstat.Sample `json:"before"`
	After  procstat.Sample `json:"after"`
	CPU    float64         `json:"cpu_s"`
	Cores  float64         `json:"cores"`
	// CPUPerMillion is server CPU seconds per million deliveries.
	CPUPerMillion float64 `json:"cpu_s_per_million,omitempty"`
	// EventsPerWrite is deliveries per write system call: how well the
	// implementation batches.
	EventsPerWrite float64 `json:"events_per_write,omitempty"`
	// RSSPerConn and HeapStacksPerConn are bytes per ready stream (Idle).
	RSSPerConn        float64 `json:"rss_per_conn,omitempty"`
	HeapStacksPerConn float64 `json:"heap_stacks_per_conn,omitempty"`
	GoroutinesPerConn float64 `json:"goroutines_per_conn,omitempty"`
}

// ConnectPerS is streams opened per second: over OpenS where every
// stream had its head, else over ConnectS (which includes a round).
func (r *Result) ConnectPerS() float64 {
	d := r.OpenS
	if d <= 0 {
		d = r.ConnectS
	}
	if d <= 0 {
		return 0
	}
	return float64(r.Open) / d
}

// WriteMarkdown writes r as a two-column Markdown table.
func (r *Result) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	row := func(k, f string, a ...any) { fmt.Fprintf(&b, "| %s | %s |\n", k, fmt.Sprintf(f, a...)) }
	b.WriteString("| measure | value |\n|---|---|\n")
	row("mode", "%s", r.Mode)
	row("url", "`%s`", r.URL)
	row("streams", "%d over %d rooms: %d open, %d ready, %d failed, %d dropped", r.Conns, r.Rooms, r.Open, r.Ready, r.Failed, r.Dropped)
	row("connect", "%.2f s", r.ConnectS)
	if r.Mode == Conns {
		row("connect rate", "%.0f streams/s", r.ConnectPerS())
		row("shutdown", "%.3f s in Shutdown, %.3f s until the last stream ended, %d still open after 10 s", r.ShutdownS, r.StreamsEndedS, r.StreamsOpenAfterShutdown)
	}
	if r.Mode != Idle {
		row("published", "%d events in %d rounds", r.Published, r.Rounds)
		row("deliveries", "%d in %.2f s: %.0f /s", r.Deliveries, r.DurationS, r.DeliveriesPerS)
		row("lost / out of order / undecodable", "%d / %d / %d", r.Lost, r.OutOfOrder, r.Undecodable)
		if r.Latency.Count > 0 {
			row("latency p50 / p90 / p99 / max", "%.2f / %.2f / %.2f / %.2f ms", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
		}
		row("load generator CPU", "%.2f s (%.2f cores), %.1f events per read", r.LoadCPU, r.LoadCores, r.EventsPerRead)
	}
	if s := r.Server; s != nil {
		row("server CPU", "%.2f s (%.2f cores)", s.CPU, s.Cores)
		if s.CPUPerMillion > 0 {
			row("server CPU per million deliveries", "%.2f s, %.1f events per write", s.CPUPerMillion, s.EventsPerWrite)
		}
		if r.Mode == Idle || r.Mode == Conns {
			row("server memory per stream", "%.0f B RSS, %.0f B heap+stacks, %.2f goroutines", s.RSSPerConn, s.HeapStacksPerConn, s.GoroutinesPerConn)
		}
	}
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		row("error", "%d × %s", r.Errors[k], k)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
