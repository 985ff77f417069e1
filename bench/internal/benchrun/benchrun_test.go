package benchrun_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/bench/internal/benchrun"
)

func TestCount(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{7: "7", 100: "100", 1000: "1 000", 100000: "100 000", 1234567: "1 234 567"} {
		if got := benchrun.Count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPrefixWriter(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	w := benchrun.NewPrefixWriter(&b, "> ")
	for _, s := range []string{"one\ntw", "o\n", "\nthree"} {
		if _, err := io.WriteString(w, s); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.String(), "> one\n> two\n> \n> three"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMachine(t *testing.T) {
	t.Parallel()
	if got := benchrun.Field(strings.NewReader("processor\t: 0\nmodel name\t: Some CPU @ 2GHz\n"), "model name"); got != "Some CPU @ 2GHz" {
		t.Fatalf("field = %q", got)
	}
	if benchrun.MachineBusy() <= 0 {
		t.Fatal("no CPU time in /proc/stat")
	}
}

func TestReadURL(t *testing.T) {
	t.Parallel()
	if u, err := benchrun.ReadURL(strings.NewReader("http://127.0.0.1:5\nmore\n"), time.Second); err != nil || u != "http://127.0.0.1:5" {
		t.Fatalf("got %q, %v", u, err)
	}
	if _, err := benchrun.ReadURL(strings.NewReader("panic: oops\n"), time.Second); err == nil {
		t.Fatal("accepted a line that is no URL")
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	if _, err := benchrun.ReadURL(pr, 10*time.Millisecond); err == nil {
		t.Fatal("no timeout")
	}
}

// TestRun builds the binaries and runs a miniature benchmark end to end.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped when testing.Short: builds and runs the binaries")
	}
	out := t.TempDir()
	var log strings.Builder
	rep, err := benchrun.Run(t.Context(), benchrun.Config{
		Impls:     []string{"roomcast", "r3labs", "floor"},
		Scenarios: []string{benchrun.Fanout, benchrun.Rooms, benchrun.Latency, benchrun.Idle},
		Subs:      []int{20}, Duration: 300 * time.Millisecond, Window: 16,
		LatencyConns: 10, LatencyRate: 100, LatencyDuration: 300 * time.Millisecond,
		IdleConns: 30, RoomsConns: 20, Rooms: 4, Repeat: 1,
		Out: out, Profile: true, Log: &log, Command: "test",
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(rep.Runs) != 4*3 {
		t.Fatalf("%d runs, want 12", len(rep.Runs))
	}
	for _, run := range rep.Runs {
		if run.Err != "" || run.Result == nil {
			t.Errorf("%s %s: %s", run.Impl, run.Scenario, run.Err)
			continue
		}
		if run.Result.Lost != 0 || run.Result.Ready != run.Result.Conns {
			t.Errorf("%s %s: lost %d, ready %d of %d", run.Impl, run.Scenario, run.Result.Lost, run.Result.Ready, run.Result.Conns)
		}
	}
	for _, f := range []string{"RESULTS.md", "bench.png", "results.json", "profiles/roomcast-fanout-20.pprof", "profiles/floor-fanout-20.pprof", "profiles/roomcast-rooms.pprof"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "RESULTS.md"))
	if !strings.Contains(string(md), "## Targets") || !strings.Contains(string(md), "roomcast-fanout-20.pprof") {
		t.Errorf("RESULTS.md lacks targets or profile:\n%s", md)
	}
	// Rendering again from the saved JSON gives the same Markdown.
	again := t.TempDir()
	if err := benchrun.Replot(filepath.Join(out, "results.json"), again); err != nil {
		t.Fatal(err)
	}
	if md2, _ := os.ReadFile(filepath.Join(again, "RESULTS.md")); string(md2) != string(md) {
		t.Errorf("replotted RESULTS.md differs:\n%s", md2)
	}
}

func TestUnknownScenario(t *testing.T) {
	t.Parallel()
	_, err := benchrun.Run(t.Context(), benchrun.Config{Scenarios: []string{"soak"}, Out: t.TempDir(), Log: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "soak") {
		t.Fatalf("err = %v", err)
	}
}
