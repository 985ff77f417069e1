package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/roomcast/sse"
)

// Config configures a [Server]. The zero value is usable.
type Config struct {
	// BodyLimit is the largest POST body accepted, in bytes; a larger one
	// is answered 413. Zero: DefaultBodyLimit.
	BodyLimit int64

	// MaxSwarms caps the swarms that exist at once; creating one more is
	// answered 503. Zero: no cap.
	MaxSwarms int

	// MaxPeers caps the connections in one swarm, its initiator included;
	// joining a full swarm is answered 503. Zero: no cap.
	MaxPeers int

	// FailedAuthLimit, when positive, caps the POSTs that one client
	// address (the host of the request's RemoteAddr) may make with a
	// wrong token or to an unknown swarm in a minute. Past it, every POST
	// from that address, right or wrong, is answered 429 Too Many
	// Requests with a Retry-After header until the minute is over, so a
	// guesser learns nothing more. Behind a reverse proxy all clients
	// share the proxy's address. Each server counts on its own, also
	// when several share swarms through Redis. Zero: no cap.
	FailedAuthLimit int

	// HeartbeatInterval is the period of the keep-alive comment, a
	// ": heartbeat" block, sent to every stream, the first a whole period
	// after its connect event. Zero: sse.DefaultHeartbeatInterval;
	// negative: none.
	HeartbeatInterval time.Duration

	// CORS configures cross-origin access; the zero value allows every
	// origin.
	CORS CORS

	// ICEServers are handed to every peer in its connect event, for
	// WebRTC: STUN servers, or TURN servers with fixed credentials.
	ICEServers []ICEServer

	// TURN adds short-lived TURN credentials, made for each peer, to the
	// ICE servers; the zero value adds none.
	TURN TURN

	// Logger receives the server's few log lines (never one per message).
	// Nil: nothing is logged.
	Logger *slog.Logger

	// Store keeps the swarms, their members and their tokens' digests.
	// A Store shared by several Servers makes them serve one set of
	// swarms, so that a peer may be served by any of them: the Redis
	// store of github.com/roomcast/sse/backplane/redis/signalstore is
	// one. Each Server needs a Store value of its own, and Backplane
	// with it. The caller keeps owning it. Nil: this process's memory.
	Store Store

	// Backplane carries the Server's events to the other Servers that
	// share its Store, such as a github.com/roomcast/sse/backplane/redis
	// Backplane; set both or neither. It is used as sse.Config.Backplane
	// of the Server's broker, one per Server. Nil: this process alone.
	Backplane sse.Backplane
}

// Server speaks the swarm signalling protocol of koa-signal and moshpit
// over Server-Sent Events. It is an [http.Handler] that serves
//
//	GET  /      create a swarm; this stream is its initiator
//	GET  /{id}  join swarm id
//	POST /{id}  send a message to swarm id, or to one peer in it
//
// Mount it under a prefix with [http.StripPrefix]. Create one with [New];
// its methods are safe for concurrent use.
type Server struct {
	b         *sse.Broker
	store     store
	ice       *iceList
	cors      *cors
	bodyLimit int64
	guard     *guard     // nil: no FailedAuthLimit
	keep      *keepAlive // nil: no heartbeat
	log       *slog.Logger

	mu        sync.Mutex
	closed    bool
	handlers  sync.WaitGroup // stream handlers
	done      chan struct{}
	renewer   sync.WaitGroup
	closeOnce sync.Once
}

// New returns a running Server, or an error wrapping [ErrInvalidConfig]
// for a Config it cannot use.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.BodyLimit < 0:
		return nil, fmt.Errorf("%w: negative BodyLimit", ErrInvalidConfig)
	case cfg.MaxSwarms < 0:
		return nil, fmt.Errorf("%w: negative MaxSwarms", ErrInvalidConfig)
	case cfg.MaxPeers < 0:
		return nil, fmt.Errorf("%w: negative MaxPeers", ErrInvalidConfig)
	case cfg.FailedAuthLimit < 0:
		return nil, fmt.Errorf("%w: negative FailedAuthLimit", ErrInvalidConfig)
	case (cfg.Store == nil) != (cfg.Backplane == nil):
		return nil, fmt.Errorf("%w: Store and Backplane go together: set both or neither", ErrInvalidConfig)
	}
	if err := checkICE(cfg.ICEServers, cfg.TURN); err != nil {
		return nil, err
	}
	c, err := newCORS(cfg.CORS)
	if err != nil {
		return nil, err
	}
	// The broker's streams open with nothing before connect, admit
	// requests without an Accept header (stream checks Accept first, to
	// answer in JSON), and leave the heartbeat to keepAlive, which never
	// beats a stream before its connect event.
	bcfg := sse.Config{
		HeartbeatInterval: -1,
		LenientAccept:     true,
		OmitOpeningBlock:  true,
		Logger:            cfg.Logger,
		Backplane:         cfg.Backplane,
	}
	var st Store = newMemStore()
	if cfg.Store != nil {
		st = cfg.Store
	}
	b, err := sse.New(bcfg)
	if err != nil {
		return nil, fmt.Errorf("signal: starting the broker: %w", err)
	}
	s := &Server{
		b:         b,
		store:     store{st: st, maxSwarms: cfg.MaxSwarms, maxPeers: cfg.MaxPeers},
		ice:       newICEList(cloneICE(cfg.ICEServers), cfg.TURN, b),
		cors:      c,
		bodyLimit: cfg.BodyLimit,
		guard:     newGuard(cfg.FailedAuthLimit),
		log:       cfg.Logger,
		done:      make(chan struct{}),
	}
	if s.bodyLimit == 0 {
		s.bodyLimit = DefaultBodyLimit
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if beat := cfg.HeartbeatInterval; beat >= 0 {
		if beat == 0 {
			beat = sse.DefaultHeartbeatInterval
		}
		s.keep = newKeepAlive(b, beat)
		s.renewer.Go(func() { s.keep.run(s.done) })
	}
	if s.ice.ttl > 0 {
		s.renewer.Go(func() { s.ice.renew(s.done) })
	}
	if cfg.Store != nil {
		s.renewer.Go(func() { s.maintain(cfg.Store) })
	}
	return s, nil
}

func cloneICE(servers []ICEServer) []ICEServer {
	if servers == nil {
		return nil
	}
	out := make([]ICEServer, len(servers))
	for i, s := range servers {
		s.URLs = append([]string(nil), s.URLs...)
		out[i] = s
	}
	return out
}

// ServeHTTP routes a request by method and path; see [Server].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cors.handle(w, r) {
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/")
	if strings.Contains(id, "/") || (id != "" && !validID(id)) {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	switch {
	case r.Method == http.MethodGet:
		s.stream(w, r, id)
	case r.Method == http.MethodPost && id != "":
		s.post(w, r, id)
	default:
		allow := "GET, POST, OPTIONS"
		if id == "" {
			allow = "GET, OPTIONS"
		}
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// Shutdown ends every stream, stops renewing TURN credentials, and waits
// for the stream handlers to return or ctx to end. Later requests are
// answered 204 (streams, so EventSource stops reconnecting) or 503
// (posts). Calls after the first return [ErrClosed].
//
// [net/http.Server.Shutdown] waits for connections to go idle, which
// streams never do: call this first, then it, as cmd/sse-signal does.
func (s *Server) Shutdown(ctx context.Context) error {
	first := false
	s.closeOnce.Do(func() {
		first = true
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
	})
	if !first {
		return ErrClosed
	}
	err := s.b.Shutdown(ctx)
	waited := make(chan struct{})
	go func() {
		s.handlers.Wait()
		s.renewer.Wait()
		close(waited)
	}()
	select {
	case <-waited:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maintain calls st.Maintain every MaintainInterval until Shutdown, and
// closes the rooms of the swarms it reports gone.
func (s *Server) maintain(st Store) {
	t := time.NewTicker(MaintainInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), MaintainInterval)
			for _, id := range st.Maintain(ctx) {
				_ = s.b.CloseRoom(ctx, id)
			}
			cancel()
		}
	}
}

// enter counts a stream handler in, unless the server is shut down.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.handlers.Add(1)
	return true
}

// fail answers a request that failed with err.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var he *httpError
	var le *sse.LimitError
	switch {
	case errors.As(err, &he):
		writeError(w, he.code, he.msg)
	case errors.As(err, &le):
		// A BodyLimit above the broker's Limits.QueueBytes lets in a
		// message no stream could carry.
		writeError(w, http.StatusRequestEntityTooLarge, "message larger than a stream can carry")
	case errors.Is(err, errUnknownSwarm):
		writeError(w, http.StatusNotFound, "unknown swarm")
	case errors.Is(err, errUnknownPeer):
		writeError(w, http.StatusNotFound, "unknown peer")
	case errors.Is(err, errBadToken):
		writeError(w, http.StatusForbidden, "token does not belong to a peer of this swarm")
	case errors.Is(err, errTooManySwarms):
		writeError(w, http.StatusServiceUnavailable, "too many swarms")
	case errors.Is(err, errSwarmFull):
		writeError(w, http.StatusServiceUnavailable, "swarm is full")
	case errors.Is(err, sse.ErrClosed), errors.Is(err, ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "server shutting down")
	default:
		s.log.Error("signal: request failed", "error", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// writeError answers code with {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}
