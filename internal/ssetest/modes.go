package ssetest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// Modes are the ways a broker serves streams, and a package whose
// TestMain is [Main] runs every test in each: the first in its own
// process, each other one in a child process of the same test binary
// with SSE_TEST_MODE set, which also picks one mode alone
// (SSE_TEST_MODE=dense go test -race .). Tests build their brokers
// through a helper that sets Config.Dense when [Dense] says so.
var Modes = []string{"default", "dense"}

// Dense reports whether this process runs the tests in dense mode.
func Dense() bool { return os.Getenv("SSE_TEST_MODE") == "dense" }

// Main runs the tests in every mode, each followed by goleak's check,
// and exits.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	if code == 0 && os.Getenv("SSE_TEST_MODE") == "" && !hasFlag("fuzz") && !hasFlag("bench") {
		for _, mode := range Modes[1:] {
			if err := runMode(mode); err != nil {
				fmt.Fprintf(os.Stderr, "FAIL: the tests in %s mode: %v\n", mode, err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// runMode runs this test binary again in mode, with the same flags but
// those that name output files.
func runMode(mode string) error {
	var args []string
	for _, a := range os.Args[1:] {
		if !isFlag(a, "coverprofile", "cpuprofile", "memprofile", "blockprofile", "mutexprofile", "trace", "outputdir") {
			args = append(args, a)
		}
	}
	fmt.Printf("=== the tests again, in %s mode (SSE_TEST_MODE=%s)\n", mode, mode)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SSE_TEST_MODE="+mode)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// isFlag reports whether arg sets one of the test flags named.
func isFlag(arg string, names ...string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, n := range names {
		if name == "test."+n {
			return true
		}
	}
	return false
}

func hasFlag(name string) bool {
	for _, a := range os.Args[1:] {
		if isFlag(a, name) {
			return true
		}
	}
	return false
}
