package signal

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Compare with [errors.Is].
var (
	// ErrClosed is returned by [Server.Shutdown] after its first call, and
	// by [Peer.Write] after [Peer.Close].
	ErrClosed = errors.New("signal: closed")

	// ErrInvalidConfig is wrapped by the errors [New] returns for a Config
	// it cannot use.
	ErrInvalidConfig = errors.New("signal: invalid config")

	// ErrStreamEnded is the reason a peer's stream ended when the server
	// ended it: the swarm's initiator left, or the server shut down.
	ErrStreamEnded = errors.New("signal: stream ended by the server")

	// ErrProtocol is wrapped by the errors a [Peer] reports when the
	// server does not speak the protocol: a stream that is not an event
	// stream, a first event other than connect, a connect or credentials
	// event that is not the expected JSON.
	ErrProtocol = errors.New("signal: protocol error")
)

// Errors a [Store] returns; the Server maps them to HTTP answers and
// never returns them to a caller.
var (
	// ErrUnknownSwarm: there is no swarm with that id (404).
	ErrUnknownSwarm = errors.New("signal: unknown swarm")
	// ErrUnknownPeer: the swarm has no member with that cid (404).
	ErrUnknownPeer = errors.New("signal: unknown peer")
	// ErrTooManySwarms: Config.MaxSwarms swarms exist (503).
	ErrTooManySwarms = errors.New("signal: too many swarms")
	// ErrSwarmFull: the swarm has Config.MaxPeers members (503).
	ErrSwarmFull = errors.New("signal: swarm is full")
	// ErrBadToken: no member of the swarm holds that token (403).
	ErrBadToken = errors.New("signal: token does not belong to a peer of this swarm")
)

// The handlers' names for the Store errors.
var (
	errUnknownSwarm  = ErrUnknownSwarm
	errUnknownPeer   = ErrUnknownPeer
	errTooManySwarms = ErrTooManySwarms
	errSwarmFull     = ErrSwarmFull
	errBadToken      = ErrBadToken
)

// StatusError is a signal server's error answer, as a [Peer] reports it.
type StatusError struct {
	StatusCode int    // the HTTP status, such as 404
	Message    string // the server's short explanation, if it gave one
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("signal: server answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}
