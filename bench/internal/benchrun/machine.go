package benchrun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/roomcast/sse/bench/internal/report"
)

// describeMachine reads what the report says about where it ran.
func describeMachine(command string) report.Machine {
	m := report.Machine{
		Cores:   runtime.NumCPU(),
		Go:      runtime.Version(),
		Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Command: command,
		CPU:     "unknown CPU",
		Kernel:  "unknown",
		Commit:  "unknown",
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		if v := field(f, "model name"); v != "" {
			m.CPU = v
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(field(f, "MemTotal"), " kB"), 64); err == nil {
			m.MemGiB = kb / (1 << 20)
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			m.Commit += " with local changes"
		}
	}
	return m
}

// field returns the value of the first "name : value" line of r.
func field(r io.Reader, name string) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// machineBusy returns the CPU seconds all processes have used since boot
// (user, nice and system time in /proc/stat's cpu line), or 0 where
// /proc/stat is missing. Interrupt and softirq time are left out: most of
// it is the loopback traffic of the benchmark itself, which no process's
// rusage includes, and counting it would mark every large run disturbed.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, v := range f[1:] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0
		}
		// Fields: user nice system idle iowait irq softirq steal guest
		// guest_nice.
		if i <= 2 {
			busy += n
		}
	}
	return busy / clockTicks
}

// waitQuiet waits up to limit for the machine to be idle (below
// report.NoisyCores of use) for half a second, so that a run does not
// start in another process's burst.
func waitQuiet(ctx context.Context, limit time.Duration, log io.Writer) {
	if limit <= 0 {
		return
	}
	deadline := time.Now().Add(limit)
	said := false
	for {
		b0 := machineBusy()
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		used := (machineBusy() - b0) / 0.5
		if used <= report.NoisyCores || time.Now().After(deadline) {
			if said {
				fmt.Fprintf(log, "    (machine at %.2f cores; going on)\n", used)
			}
			return
		}
		if !said {
			fmt.Fprintf(log, "    waiting for other processes (%.2f cores busy)\n", used)
			said = true
		}
	}
}
