// Package redistest starts a real redis-server from PATH for tests, on a
// free loopback port. Without redis-server the test is skipped, with a
// message naming it, unless SSE_REQUIRE_REDIS=1 makes that a failure.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a redis-server process.
type Server struct {
	t    testing.TB
	path string
	Addr string
	port int
	cmd  *exec.Cmd
	exit chan struct{}
}

// Start starts redis-server, stopped at the test's end.
func Start(t testing.TB) *Server {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("SSE_REQUIRE_REDIS") == "1" {
			t.Fatal("redis-server not found on PATH and SSE_REQUIRE_REDIS=1")
		}
		t.Skip("redis-server not found on PATH; install redis-server (SSE_REQUIRE_REDIS=1 makes this a failure)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s := &Server{t: t, path: path, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port)}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.path, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "notice")
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	ready := make(chan error, 1)
	s.exit = make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		var log []string
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			log = append(log, line)
			if !signalled && strings.Contains(line, "Ready to accept connections") {
				ready <- nil
				signalled = true
			}
		}
		if !signalled {
			ready <- fmt.Errorf("redis-server exited before it was ready:\n%s", strings.Join(log, "\n"))
		}
		_ = s.cmd.Wait()
		close(s.exit)
	}()
	select {
	case err := <-ready:
		if err != nil {
			s.t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		s.Stop()
		s.t.Fatal("redis-server did not become ready")
	}
}

// Stop kills the server, as a crash would, and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

// Restart kills the server and starts a new, empty one on the same port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}
