package sse_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// streamModes are the ways a broker serves streams, and every test runs
// in each: the first in this process, each other one in a child process
// of this test binary with SSE_TEST_MODE set (which also picks one mode
// alone: SSE_TEST_MODE=dense go test -race .). Tests build brokers with
// newSSE or newBroker, which apply the mode.
var streamModes = []string{"default", "dense"}

var testMode = os.Getenv("SSE_TEST_MODE")

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	if code == 0 && testMode == "" && !fuzzing() {
		for _, mode := range streamModes[1:] {
			if err := runMode(mode); err != nil {
				fmt.Fprintf(os.Stderr, "FAIL: the tests in %s mode: %v\n", mode, err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// runMode runs this test binary again, with the same flags but those
// that name output files, in mode.
func runMode(mode string) error {
	args := []string{}
	for _, a := range os.Args[1:] {
		if !writesFile(a) {
			args = append(args, a)
		}
	}
	fmt.Printf("=== the tests again, in %s mode (SSE_TEST_MODE=%s)\n", mode, mode)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SSE_TEST_MODE="+mode)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

func writesFile(arg string) bool {
	for _, f := range []string{"coverprofile", "cpuprofile", "memprofile", "blockprofile", "mutexprofile", "trace", "outputdir", "test.bench", "test.fuzz"} {
		if strings.HasPrefix(strings.TrimLeft(arg, "-"), "test."+strings.TrimPrefix(f, "test.")) {
			return true
		}
	}
	return false
}

func fuzzing() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(strings.TrimLeft(a, "-"), "test.fuzz=") {
			return true
		}
	}
	return false
}
