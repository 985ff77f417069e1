// Package sse is a Server-Sent Events pub/sub broker for net/http.
//
// A [Broker] holds the connected clients and the rooms they are in. It is
// a [net/http.Handler] that takes the room from the request
// (r.PathValue("room") unless [Config.Room] says otherwise), and any
// handler can add a client itself:
//
//	b, _ := sse.New(sse.Config{History: sse.History{Size: 1000}})
//	mux.Handle("GET /events/{room}", b)
//	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
//		c, err := b.Add(w, r, "user:"+userID(r)) // join rooms at connect
//		if err != nil {
//			return // Add has answered the request
//		}
//		c.Serve() // writes the stream until it ends
//	})
//	b.Publish(ctx, "news", sse.Event{Name: "headline", Data: story})
//
// Events go to a room ([Broker.Publish]), to every client
// ([Broker.PublishAll]), to one client ([Broker.Send]) or to the clients a
// filter picks ([Broker.Broadcast]). They are encoded once, exactly as the
// WHATWG HTML standard's event stream format says (see [Event]), and the
// same bytes are queued for every recipient.
//
// # Concurrency
//
// All methods are safe for concurrent use. The handler goroutine that
// called [Broker.Add] and [Client.Serve] is its stream's only writer; no
// other goroutine exists per client. Publishing never waits for a client:
// each client has a queue bounded by [Limits.QueueEvents] and
// [Limits.QueueBytes], and a client whose queue is full is dropped
// ([ReasonSlow]) while everybody else carries on. Each write has a
// deadline ([Limits.WriteTimeout]), so a peer that stops reading is
// dropped ([ReasonTimeout]). Events published to a room reach each member
// in the order of the publishes.
//
// Hooks ([Config.OnConnect], [Config.OnDisconnect], [Config.OnReplayMiss])
// run on the client's handler goroutine; [Config.OnError] on the goroutine
// that met the error. They must not block; a hook that panics is recovered
// and logged.
//
// One goroutine per broker sends heartbeat comments to clients that were
// sent nothing during the last [Config.HeartbeatInterval].
//
// A handler calls [Broker.Add] once per request and [Client.Serve] once
// per client ([ErrAddedTwice], [ErrServedTwice] otherwise). A handler
// that returns or panics between the two ends its stream as if the peer
// had gone: until Serve is called, one short-lived goroutine watches the
// request's context.
//
// In tests with testing/synctest, make each broker inside the bubble that
// uses it: its goroutines and channels belong to the bubble in which they
// are made, and Go stops a process that uses them from another.
//
// # Dense mode
//
// With [Config.Dense], on Linux, the broker takes each plain HTTP/1.x
// stream's connection over once [Broker.Add] has registered it: Serve
// returns at once, and a fixed pool of writers (half of GOMAXPROCS) writes
// every such stream without waiting on any socket, while one goroutine
// watches all the connections through epoll for peers that go away. An
// idle stream then has no goroutine and costs about 4 KiB instead of
// about 23. Ordering, replay, limits, timeouts, heartbeats, hooks, Stats
// and the backplane are the same; hooks that run on the handler goroutine
// for the default path run on a goroutine of the broker's instead, and a
// handler watches [Client.Context] to learn when its stream ends. HTTP/2,
// TLS and other streams that cannot be taken over stay on the default path.
//
// # Replay
//
// With [Config.History] on, each room keeps its recent events. Every kept
// event (of a room, or [Broker.PublishAll]) takes its position in one
// order of the broker's, under the lock that also queues it for every
// recipient, so positions are the order in which each client receives
// them across all its rooms; an event without an ID gets its position, in
// decimal, as its id. A new client's stream opens with its position. A
// client that reconnects with a Last-Event-ID header (or a lastEventId
// query parameter, for polyfills) is sent exactly the kept events of its
// rooms after that position, in order, before any live event, with no
// duplicate and no gap. If the broker cannot tell exactly what it missed
// (an unknown or ambiguous id, events evicted since), the first thing the
// client gets is a [ResyncEvent] carrying its new position, and
// [Config.OnReplayMiss] is called, so the application can send a fresh
// state. Events sent with [Broker.Send] or [Broker.Broadcast] are not
// kept. With a [Backplane] all of this holds across nodes.
//
// # Shutdown
//
// [Broker.Shutdown] ends every stream (after writing what was queued),
// stops heartbeats and schedules, and waits for the handlers. Requests
// that arrive later get 204 No Content, which tells EventSource to stop
// reconnecting. net/http's Server.Shutdown does not wait for streams;
// register the broker with it:
//
//	srv.RegisterOnShutdown(func() { b.Shutdown(context.Background()) })
//
// # Limits
//
// [Limits] caps clients (503 with a jittered Retry-After beyond
// MaxClients), rooms per client, each client's queue and each write. A
// request whose Accept header does not name text/event-stream gets 406,
// unless [Config.LenientAccept] admits wildcards and a missing header.
// Every stream starts with a retry hint drawn around
// [Limits.ReconnectDelay], so clients dropped together come back spread
// out, unless [Config.OmitOpeningBlock] opens it with nothing before the
// first event, for clients that would deliver that block as an empty
// event.
package sse
