// Package benchrun is sse-benchrun: it builds the bench server and load
// generator, runs every scenario against every implementation, each
// server a fresh child process, and writes bench/results.
package benchrun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roomcast/sse/bench/internal/load"
	"github.com/roomcast/sse/bench/internal/report"
)

// Scenario kinds a Config may ask for.
const (
	Fanout  = "fanout"  // one room, each of Subs subscribers
	Rooms   = "rooms"   // RoomsConns subscribers over Rooms rooms
	Latency = "latency" // LatencyConns subscribers at LatencyRate
	Idle    = "idle"    // IdleConns connections, memory only
	Conns   = "conns"   // for each of ConnCounts: memory, connect rate, one round, Shutdown
)

// Config is one benchmark run.
type Config struct {
	Impls     []string
	Scenarios []string // of Fanout, Rooms, Latency, Idle
	Subs      []int    // Fanout sizes

	Duration time.Duration // throughput phases
	Window   int           // throughput window, rounds

	LatencyConns    int
	LatencyRate     float64
	LatencyDuration time.Duration

	IdleConns int

	ConnCounts []int // Conns sizes

	RoomsConns int
	Rooms      int

	Repeat  int    // runs of each scenario and implementation; the median is reported
	Sources string // -src for sse-load

	Out     string // results directory
	BinDir  string // prebuilt binaries; empty: build them
	Profile bool   // CPU-profile roomcast and the floor in the largest fan-out and in rooms

	// QuietWait bounds the wait, before each run, for other processes
	// to leave the CPU alone.
	QuietWait time.Duration
	// Retries is how many times a run that other processes disturbed
	// anyway (report.NoisyCores) is run again.
	Retries int

	Command string    // recorded in the report
	Log     io.Writer // progress; the load generator's progress line too
}

// Scenarios expands the kinds in cfg into report scenarios.
func (cfg *Config) scenarios() ([]report.Scenario, error) {
	var out []report.Scenario
	for _, kind := range cfg.Scenarios {
		switch kind {
		case Fanout:
			for _, n := range cfg.Subs {
				out = append(out, report.Scenario{Name: fmt.Sprintf("fanout-%d", n), Kind: report.Throughput,
					Label: count(n) + " subs", Conns: n, Rooms: 1})
			}
		case Rooms:
			out = append(out, report.Scenario{Name: "rooms", Kind: report.Throughput,
				Label: fmt.Sprintf("%s subs / %s rooms", count(cfg.RoomsConns), count(cfg.Rooms)), Conns: cfg.RoomsConns, Rooms: cfg.Rooms})
		case Latency:
			out = append(out, report.Scenario{Name: "latency", Kind: report.Latency,
				Label: fmt.Sprintf("%s subs at %g events/s", count(cfg.LatencyConns), cfg.LatencyRate), Conns: cfg.LatencyConns, Rooms: 1})
		case Idle:
			out = append(out, report.Scenario{Name: "idle", Kind: report.Idle,
				Label: count(cfg.IdleConns) + " connections", Conns: cfg.IdleConns, Rooms: 1})
		case Conns:
			for _, n := range cfg.ConnCounts {
				out = append(out, report.Scenario{Name: fmt.Sprintf("conns-%d", n), Kind: report.Conns,
					Label: count(n) + " conns", Conns: n, Rooms: 1})
			}
		default:
			return nil, fmt.Errorf("benchrun: unknown scenario %q", kind)
		}
	}
	return out, nil
}

// count writes n with thin spaces between thousands: 10 000.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// Run runs the benchmark and writes cfg.Out.
func Run(ctx context.Context, cfg Config) (*report.Report, error) {
	scs, err := cfg.scenarios()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Out, "profiles"), 0o755); err != nil {
		return nil, err
	}
	bin := cfg.BinDir
	if bin == "" {
		if bin, err = os.MkdirTemp("", "sse-benchrun-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(bin)
		if err := build(ctx, bin, cfg.Log); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp("", "sse-benchrun-results-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	rep := &report.Report{Machine: describeMachine(cfg.Command), Scenarios: scs, Impls: cfg.Impls, Profiles: map[string]string{}}
	largest := largestFanout(scs)
	total := cfg.Repeat * len(scs) * len(cfg.Impls)
	started := time.Now()
	n := 0
	for r := range cfg.Repeat {
		for _, sc := range scs {
			for k := range cfg.Impls {
				// Rotate the order on each repeat so that no
				// implementation always runs first.
				im := cfg.Impls[(k+r)%len(cfg.Impls)]
				n++
				fmt.Fprintf(cfg.Log, "[%d/%d %s] %s, %s, repeat %d\n", n, total, time.Since(started).Round(time.Second), im, sc.Label, r+1)
				waitQuiet(ctx, cfg.QuietWait, cfg.Log)
				profile := ""
				if cfg.Profile && (sc.Name == largest || sc.Name == "rooms") && r == 0 && (strings.HasPrefix(im, "roomcast") || im == "floor") {
					profile = filepath.Join(cfg.Out, "profiles", im+"-"+sc.Name+".pprof")
				}
				run := runOne(ctx, &cfg, bin, tmp, sc, im, profile)
				// A run that other processes disturbed is run again, up to
				// Retries times; the least disturbed one is kept.
				for try := 0; try < cfg.Retries && run.OthersCPU > report.NoisyCores && ctx.Err() == nil; try++ {
					fmt.Fprintf(cfg.Log, "    others used %.2f cores: again\n", run.OthersCPU)
					waitQuiet(ctx, cfg.QuietWait, cfg.Log)
					retryProfile := ""
					if profile != "" {
						retryProfile = filepath.Join(tmp, "retry.pprof")
					}
					if again := runOne(ctx, &cfg, bin, tmp, sc, im, retryProfile); again.OthersCPU < run.OthersCPU {
						run = again
						if profile != "" {
							_ = os.Rename(retryProfile, profile)
						}
					}
				}
				run.Repeat = r + 1
				rep.Runs = append(rep.Runs, run)
				if run.Err != "" {
					fmt.Fprintf(cfg.Log, "    error: %s\n", run.Err)
				}
				if profile != "" && run.Err == "" {
					if top, err := pprofTop(ctx, profile); err == nil {
						rep.Profiles[filepath.Base(profile)] = top
					}
				}
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
			}
		}
	}
	return rep, write(rep, cfg.Out)
}

func largestFanout(scs []report.Scenario) string {
	best, name := 0, ""
	for _, sc := range scs {
		if sc.Kind == report.Throughput && sc.Rooms == 1 && sc.Conns > best {
			best, name = sc.Conns, sc.Name
		}
	}
	return name
}

// build compiles the two binaries, static, into dir.
func build(ctx context.Context, dir string, log io.Writer) error {
	fmt.Fprintf(log, "building sse-bench-server and sse-load (CGO_ENABLED=0)\n")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir, "./cmd/sse-bench-server", "./cmd/sse-load")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", noWorkspace)
	cmd.Dir = moduleDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("benchrun: go build: %w\n%s", err, out)
	}
	return nil
}

// noWorkspace builds the bench module on its own go.mod and go.sum, the
// same whether or not the repository's go.work lists it.
const noWorkspace = "GOWORK=off"

// moduleDir is the bench module's directory: where go.mod of the
// working directory's module lies.
func moduleDir() string {
	cmd := exec.Command("go", "env", "GOMOD")
	cmd.Env = append(os.Environ(), noWorkspace)
	out, err := cmd.Output()
	if err != nil {
		return "."
	}
	if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod)
	}
	return "."
}

// runOne starts a server for im, runs sse-load for sc against it, and
// stops the server.
func runOne(ctx context.Context, cfg *Config, bin, tmp string, sc report.Scenario, im, profile string) report.Run {
	run := report.Run{Scenario: sc.Name, Impl: im}
	busy0, wall0 := machineBusy(), time.Now()

	srvLog, err := os.CreateTemp(tmp, im+"-*.log")
	if err != nil {
		run.Err = err.Error()
		return run
	}
	defer srvLog.Close()
	srv := exec.CommandContext(ctx, filepath.Join(bin, "sse-bench-server"), "-impl", im, "-addr", "127.0.0.1:0")
	srv.Stderr = srvLog
	srv.Cancel = func() error { return srv.Process.Signal(syscall.SIGTERM) }
	srv.WaitDelay = 5 * time.Second
	stdout, err := srv.StdoutPipe()
	if err != nil {
		run.Err = err.Error()
		return run
	}
	if err := srv.Start(); err != nil {
		run.Err = err.Error()
		return run
	}
	base, err := readURL(stdout, 10*time.Second)
	if err != nil {
		_ = srv.Process.Kill()
		_ = srv.Wait()
		run.Err = fmt.Sprintf("server did not start: %v %s", err, tail(srvLog.Name()))
		return run
	}

	jsonPath := filepath.Join(tmp, fmt.Sprintf("%s-%s.json", im, sc.Name))
	args := []string{
		"-url", base + "/events/{room}", "-control", base, "-md", "", "-json", jsonPath,
		"-c", strconv.Itoa(sc.Conns), "-rooms", strconv.Itoa(sc.Rooms), "-progress", "2s",
	}
	switch sc.Kind {
	case report.Throughput:
		args = append(args, "-mode", load.Throughput, "-d", cfg.Duration.String(), "-window", strconv.Itoa(cfg.Window))
	case report.Latency:
		args = append(args, "-mode", load.Latency, "-d", cfg.LatencyDuration.String(), "-rate", strconv.FormatFloat(cfg.LatencyRate, 'g', -1, 64))
	case report.Idle:
		args = append(args, "-mode", load.Idle)
	case report.Conns:
		// Dialling tens of thousands of streams takes longer than the
		// default 30 s on a small machine.
		args = append(args, "-mode", load.Conns, "-connect-timeout", "120s")
	}
	if cfg.Sources != "" {
		args = append(args, "-src", cfg.Sources)
	}
	if profile != "" {
		args = append(args, "-server-profile", profile)
	}
	ld := exec.CommandContext(ctx, filepath.Join(bin, "sse-load"), args...)
	out := &prefixWriter{w: cfg.Log, prefix: "    "}
	ld.Stdout, ld.Stderr = out, out
	ldErr := ld.Run()

	_ = srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = srv.Process.Kill()
		<-done
	}
	wall := time.Since(wall0).Seconds()
	own := cpuOf(srv.ProcessState) + cpuOf(ld.ProcessState)
	if wall > 0 {
		run.OthersCPU = max(0, (machineBusy()-busy0-own)/wall)
	}

	b, err := os.ReadFile(jsonPath)
	if err == nil {
		var res load.Result
		if err = json.Unmarshal(b, &res); err == nil {
			run.Result = &res
		}
	}
	if ldErr != nil || err != nil {
		run.Err = errors.Join(ldErr, err).Error()
	}
	return run
}

// readURL reads the server's first output line, its base URL.
func readURL(r io.Reader, timeout time.Duration) (string, error) {
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case s := <-line:
		if !strings.HasPrefix(s, "http://") {
			return "", fmt.Errorf("unexpected first line %q", s)
		}
		return s, nil
	case <-time.After(timeout):
		return "", errors.New("no address printed")
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 500 {
		b = b[len(b)-500:]
	}
	return strings.TrimSpace(string(b))
}

func cpuOf(ps *os.ProcessState) float64 {
	if ps == nil {
		return 0
	}
	return (ps.UserTime() + ps.SystemTime()).Seconds()
}

// prefixWriter writes to w with prefix at the start of every line.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool // the last write ended inside a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if !p.mid {
			if _, err := io.WriteString(p.w, p.prefix); err != nil {
				return 0, err
			}
		}
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i+1]
		}
		if _, err := p.w.Write(line); err != nil {
			return 0, err
		}
		p.mid = line[len(line)-1] != '\n'
		b = b[len(line):]
	}
	return n, nil
}

// pprofTop lists a profile's top functions by cumulative time.
func pprofTop(ctx context.Context, path string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=30", path).Output()
	if err != nil {
		return "", err
	}
	// Drop the header lines that name the temporary binary.
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Showing nodes") {
			return strings.Join(lines[i:], "\n"), nil
		}
	}
	return string(out), nil
}

// Replot renders RESULTS.md and bench.png into out again from a saved
// results.json, as after a change to the report's layout.
func Replot(resultsJSON, out string) error {
	b, err := os.ReadFile(resultsJSON)
	if err != nil {
		return err
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("benchrun: %s: %w", resultsJSON, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return write(&rep, out)
}

// write saves the report as results.json, RESULTS.md and bench.png.
func write(rep *report.Report, out string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if rep.HasBars() {
		if err := rep.WritePlot(filepath.Join(out, "bench.png")); err != nil {
			return err
		}
	}
	if len(rep.OfKind(report.Conns)) > 0 {
		if err := rep.WriteConnsPlot(filepath.Join(out, report.ConnsPlot)); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(out, "RESULTS.md"), []byte(rep.Markdown("bench.png")), 0o644)
}
