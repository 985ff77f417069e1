//go:build !linux

package sse

import (
	"errors"
	"net"
	"syscall"
)

// canTakeOver is false: only Linux holds a taken-over stream without a
// goroutine, so elsewhere Config.Dense leaves every stream on the
// default path.
const canTakeOver = false

type poller struct{}

var errNoPoller = errors.New("sse: taken-over streams need Linux")

func newPoller() (*poller, error)                   { return nil, errNoPoller }
func rawConn(net.Conn) syscall.RawConn              { return nil }
func (*poller) add(*Client, *takeover) error        { return errNoPoller }
func (*poller) remove(*takeover)                    {}
func (*poller) stop()                               {}
func writeNow(syscall.RawConn, []byte) (int, error) { return 0, errNoPoller }
