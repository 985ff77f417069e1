// Package procstat reads what the benchmark reports about a process: its
// CPU time, resident memory and Go heap, and raises its file limit so
// that tens of thousands of sockets fit.
package procstat

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
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
	return Sample{
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
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return -1
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return -1
		}
		return kb << 10
	}
	return -1
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
