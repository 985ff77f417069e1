package procstat_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/roomcast/sse/bench/internal/procstat"
)

func TestParseRSS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     int64
	}{
		{name: "linux", in: "Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t    2048 kB\nThreads: 3\n", want: 2 << 20},
		{name: "missing", in: "Name:\tx\n", want: -1},
		{name: "odd unit", in: "VmRSS:\t 5 MB\n", want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := procstat.ParseRSS(strings.NewReader(tt.in)); got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseIO(t *testing.T) {
	t.Parallel()
	r, w := procstat.ParseIO(strings.NewReader("rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 0\n"))
	if r != 3 || w != 4 {
		t.Fatalf("got %d, %d; want 3, 4", r, w)
	}
	if r, w := procstat.ParseIO(strings.NewReader("")); r != -1 || w != -1 {
		t.Fatalf("empty: got %d, %d; want -1, -1", r, w)
	}
}

func TestRead(t *testing.T) {
	t.Parallel()
	s := procstat.Read(true)
	if s.RSS <= 0 || s.Writes < 0 || s.HeapAlloc <= 0 || s.StackInuse <= 0 || s.Goroutines < 1 || s.CPU() <= 0 {
		t.Fatalf("implausible sample %+v", s)
	}
	if s.HeapStacks() != s.HeapAlloc+s.StackInuse {
		t.Fatal("HeapStacks is not heap plus stacks")
	}
}

func TestRaiseFDLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	got, err := procstat.RaiseFDLimit(64)
	if err != nil || got < 64 {
		t.Fatalf("RaiseFDLimit(64) = %d, %v", got, err)
	}
	// Beyond any hard limit the kernel allows: an error that says so,
	// and the soft limit left at its best.
	got, err = procstat.RaiseFDLimit(1 << 40)
	if err == nil || got == 0 {
		t.Fatalf("RaiseFDLimit(2^40) = %d, %v; want an error and a limit", got, err)
	}
}
