// Package signal is the swarm signalling protocol of koa-signal and
// moshpit, built on the [sse] broker: peers that find each other through
// a server and exchange small JSON messages, typically to set up WebRTC
// connections. It has the server ([Server]), the Go client ([Dial],
// [Join], [Peer]) and, in cmd/sse-signal, a server command.
//
// A stream to GET / creates a swarm and makes its connection the
// initiator; GET /{id} joins it, also without an Accept header, as
// moshpit's client sends none. Every stream's first block is the connect
// event, with the swarm's id, the connection's cid and its token, and
// every event is two lines, "event: NAME" and "data: JSON", which
// moshpit's line parser reads. The initiator
// is told of each peer that joins and leaves. A POST to /{id} with a
// token sends its data to the whole swarm, or with a cid to one peer;
// recipients get a signal event. When the initiator leaves, the swarm
// ends: every stream in it is closed. See the README for the wire format.
//
// Start a server:
//
//	srv, err := signal.New(signal.Config{})
//	...
//	mux.Handle("/signal/", http.StripPrefix("/signal", srv))
//
// # Concurrency
//
// [Server] and [Peer] methods are safe for concurrent use. The server is
// an [sse.Broker] underneath: each stream is written by its own handler,
// a message is encoded once for all its recipients, and a recipient too
// slow to keep up is dropped rather than allowed to hold others back.
// Messages to a swarm reach each peer in the order the server accepted
// them. A Peer reads its stream on one goroutine and posts on another,
// in the order of its writes.
//
// # Security
//
// Swarm ids and tokens are 130 random bits from crypto/rand. Knowing a
// swarm's id lets anyone join it; only a token lets a peer post, and a
// token is valid only while its stream lasts. The server keeps only the
// SHA-256 digests of tokens and finds a token by its digest, so the time
// a check takes tells a guesser nothing about a real token. Cids are
// xids: unique, not secret. [Config.FailedAuthLimit] caps the failed
// posts one address may make in a minute.
//
// # Shutdown
//
// [Server.Shutdown] ends every stream and waits for their handlers;
// call it before [net/http.Server.Shutdown], which would otherwise wait
// for the streams to go idle, and they never do. [Peer.Close] ends a peer's stream and waits for its
// goroutines.
//
// # Limits
//
// [Config] caps POST bodies (10 kB by default), swarms and peers per
// swarm; the server answers 413 or 503 beyond them.
package signal
