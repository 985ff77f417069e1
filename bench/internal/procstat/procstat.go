// Package procstat reads what the benchmark reports about a process: its
// CPU time, resident memory and Go heap, and raises its file limit so
// that tens of thousands of sockets fit.
package procstat

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sample is one reading of the process.
type Sample struct {
	CPUUser    float64 `json:"cpu_user_s"`
	CPUSys     float64 `json:"cpu_sys_s"`
	RSS        int64   `json:"rss_bytes"`
	HeapAlloc  int64   `json:"heap_alloc_bytes"` // live heap objects
	StackInuse int64   `json:"stack_inuse_bytes"`
	Goroutines int     `json:"goroutines"`
	NumGC      uint32  `json:"num_gc"`
	// Read and write system calls so far (syscr and syscw of
	// /proc/self/io), or -1 where unknown: how well writes are batched.
	Reads  int64 `json:"syscalls_read"`
	Writes int64 `json:"syscalls_write"`
}

// CPU returns user plus system seconds.
func (s Sample) CPU() float64 { return s.CPUUser + s.CPUSys }

// HeapStacks returns live heap plus goroutine stacks, in bytes.
func (s Sample) HeapStacks() int64 { return s.HeapAlloc + s.StackInuse }

// Read samples the calling process. With gc it first runs a full garbage
// collection and returns freed memory to the OS, so that RSS and heap
// reflect live data rather than the collector's pacing.
func Read(gc bool) Sample {
	if gc {
		runtime.GC()
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	user, sys := CPUTime()
	reads, writes := Syscalls()
	return Sample{
		Reads:      reads,
		Writes:     writes,
		CPUUser:    user.Seconds(),
		CPUSys:     sys.Seconds(),
		RSS:        RSS(),
		HeapAlloc:  int64(ms.HeapAlloc),
		StackInuse: int64(ms.StackInuse),
		Goroutines: runtime.NumGoroutine(),
		NumGC:      ms.NumGC,
	}
}

// CPUTime returns the process's user and system CPU time.
func CPUTime() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// RSS returns the resident set size from /proc/self/status, or -1 where
// that file is missing (not Linux).
func RSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	return parseRSS(f)
}

func parseRSS(r io.Reader) int64 {
	f := fields(r, "VmRSS:")
	if len(f) != 2 || f[1] != "kB" {
		return -1
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return -1
	}
	return kb << 10
}

// Syscalls returns the process's read and write system call counts, or
// -1 where unknown.
func Syscalls() (reads, writes int64) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1, -1
	}
	defer f.Close()
	return parseIO(f)
}

func parseIO(r io.Reader) (reads, writes int64) {
	reads, writes = -1, -1
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// fields returns the fields after prefix on the first line that has it.
func fields(r io.Reader, prefix string) []string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strings.Fields(rest)
		}
	}
	return nil
}

// RaiseFDLimit lifts RLIMIT_NOFILE to want open files: the soft limit up
// to the hard one, and the hard one too where the process may (root). It
// returns the soft limit now in force, and an error when that is still
// below want.
func RaiseFDLimit(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("procstat: getrlimit: %w", err)
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return want, nil
		}
	}
	lim.Cur = min(want, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("procstat: setrlimit: %w", err)
	}
	if lim.Cur < want {
		return lim.Cur, fmt.Errorf("procstat: open-file limit is %d, below the %d wanted (raise the hard limit: ulimit -Hn, or run as root)", lim.Cur, want)
	}
	return lim.Cur, nil
}
