package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// build compiles the command into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	require.NoError(t, err, "the go tool is needed to build the binary")
	bin := filepath.Join(t.TempDir(), "sse-signal")
	out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// TestBinary runs the built command: exit statuses of the one-shot
// flags, then a server driven by the Go client and raw HTTP and stopped
// by SIGTERM or SIGINT, which must end the streams and exit 0.
func TestBinary(t *testing.T) {
	bin := build(t)
	gone, err := net.Listen("tcp", "127.0.0.1:0") // a port nothing listens on
	require.NoError(t, err)
	closed := gone.Addr().String()
	require.NoError(t, gone.Close())

	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, "usage: sse-signal"},
		{[]string{"--version"}, 0, "sse-signal devel"},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"--uid", "no-such-user-here"}, 2, `sse-signal: bad usage (see --help): --uid: unknown user "no-such-user-here"`},
		{[]string{"--redis", "notaurl"}, 2, `sse-signal: bad usage (see --help): --redis: "notaurl" is not a Redis URL`},
		{[]string{"--port", "0", "--redis", "redis://" + closed}, 1, "sse-signal: cannot reach Redis at " + closed + " (--redis): dial tcp"},
	} {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, tc.code, code, "%q: %s", tc.args, out)
		assert.Contains(t, string(out), tc.out, "%q", tc.args)
		if tc.code != 0 {
			assert.Equal(t, 1, strings.Count(string(out), "\n"), "%q: one line: %s", tc.args, out)
		}
	}

	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startBinary(t, bin, nil)
			init, peer := pingPong(t, p.url)
			// Raw HTTP: a form post, as koa-signal's README example did,
			// and a raw stream alongside the client's.
			raw := ssetest.Open(t, nil, p.url+"/"+init.ID(), nil)
			require.Equal(t, http.StatusOK, raw.Resp.StatusCode)
			require.Equal(t, signal.EventConnect, raw.Event(t).Type)
			require.Equal(t, signal.EventJoin, (<-init.Messages()).Event)
			resp, err := http.Post(p.url+"/"+init.ID(), "application/x-www-form-urlencoded",
				strings.NewReader("token="+init.Token()+"&data[greeting]=hello"))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
			ev := raw.Event(t)
			assert.Equal(t, signal.EventSignal, ev.Type)
			assert.Equal(t, `{"greeting":"hello"}`, ev.Data)

			require.NoError(t, p.stop(t, sig), "exit status; stderr: %s", p.stderr)
			assert.ErrorIs(t, streamEnded(t, init), signal.ErrStreamEnded)
			assert.ErrorIs(t, streamEnded(t, peer), signal.ErrStreamEnded)
			raw.Ended(t)
			assert.Contains(t, p.stderr.String(), "msg=stopped")
		})
	}
}

// process is a running sse-signal.
type process struct {
	cmd            *exec.Cmd
	url            string
	stdout, stderr *output
	exited         chan struct{}
	err            error // cmd.Wait's, once exited is closed
}

// startBinary starts bin on a free loopback port with the extra args and
// waits for its start-up line; attr, if not nil, sets how it is started.
// The process is killed at the test's end if it still runs.
func startBinary(t *testing.T, bin string, attr *syscall.SysProcAttr, args ...string) *process {
	t.Helper()
	p := &process{stdout: newOutput(), stderr: newOutput(), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = attr
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	p.url = p.stdout.url(t)
	return p
}

// stop sends sig and returns the exit error (nil for status 0).
func (p *process) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case <-p.exited:
	case <-time.After(ssetest.Timeout):
		t.Fatal("the server did not stop")
	}
	return p.err
}

// TestBinaryDropsPrivileges starts the command as root with --uid nobody
// and reads the identity it runs under from /proc; then starts it as
// nobody with --uid 0, which must fail.
func TestBinaryDropsPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("requires root: it switches users")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("requires a user named nobody: not found")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	bin := build(t)
	// Let nobody run it.
	for dir := filepath.Dir(bin); dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		require.NoError(t, os.Chmod(dir, 0o755))
	}

	p := startBinary(t, bin, nil, "--uid", "nobody")
	status, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	require.NoError(t, err)
	assert.Regexp(t, fmt.Sprintf(`(?m)^Uid:\t%d\t%d\t%d\t%d$`, uid, uid, uid, uid), string(status))
	assert.Regexp(t, fmt.Sprintf(`(?m)^Gid:\t%d\t%d\t%d\t%d$`, gid, gid, gid, gid), string(status))
	assert.Regexp(t, fmt.Sprintf(`(?m)^Groups:\t%d *$`, gid), string(status))
	pingPong(t, p.url)
	require.NoError(t, p.stop(t, syscall.SIGTERM))

	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", "0", "--uid", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, string(out), "dropping privileges: setgid 0: operation not permitted")
}
