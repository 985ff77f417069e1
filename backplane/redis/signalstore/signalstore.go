// Package signalstore keeps the swarms of signal servers in Redis, so
// that every signal.Server on one Redis serves one set of swarms: a peer
// may be served by any of them.
//
// Give each Server a Store of its own and a backplane/redis Backplane
// on the same Redis:
//
//	bp, err := redis.New(redis.Config{Client: rdb, Prefix: "sse-signal:bp:"})
//	...
//	srv, err := signal.New(signal.Config{
//		Store:     signalstore.New(signalstore.Config{Client: rdb}),
//		Backplane: bp,
//	})
//
// A swarm whose initiator's server dies without a word expires within a
// minute, and the Servers with members in it then close their streams.
package signalstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse/signal"
)

// TTL is how long a swarm outlives the last refresh by its initiator's
// server: a server that dies takes its swarms with it within TTL. The
// initiator's server refreshes its swarms every signal.MaintainInterval.
const TTL = 3 * signal.MaintainInterval

// Config configures a [Store].
type Config struct {
	// Client is the Redis connection to use; the caller keeps owning it.
	// Required.
	Client goredis.UniversalClient
	// Prefix starts every key the Store uses. Servers with different
	// prefixes do not share swarms. Zero: "sse-signal:".
	Prefix string
}

// Store is a [signal.Store] in Redis: a hash per swarm (initiator, peer
// count, and each member's token digest both ways) and a sorted set of
// swarm ids by expiry, for the cap on swarms. Each operation is one Lua
// script, so it is atomic across servers. Create one per signal.Server
// with [New]; its methods are safe for concurrent use.
type Store struct {
	rdb    goredis.UniversalClient
	prefix string
	ttl    time.Duration

	// The swarms this Store's Server has members of, for Maintain.
	mu        sync.Mutex
	initiated map[string]bool // swarm id -> its initiator is here
	hosted    map[string]int  // swarm id -> members here
}

var _ signal.Store = (*Store)(nil)

// New returns a Store on cfg.Client. It panics if cfg.Client is nil, a
// programming error.
func New(cfg Config) *Store {
	if cfg.Client == nil {
		panic("signalstore: Config.Client is nil")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "sse-signal:"
	}
	return &Store{
		rdb: cfg.Client, prefix: cfg.Prefix, ttl: TTL,
		initiated: map[string]bool{}, hosted: map[string]int{},
	}
}

func (s *Store) swarmKey(id string) string { return s.prefix + "swarm:" + id }
func (s *Store) swarmsKey() string         { return s.prefix + "swarms" }

// nowMs is the Lua prelude that reads Redis's clock.
const nowMs = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

var admitScript = goredis.NewScript(nowMs + `
if ARGV[1] == '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if tonumber(ARGV[2]) > 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 'too-many' end
  return 'ok'
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
local n = tonumber(redis.call('HGET', KEYS[1], 'n'))
if tonumber(ARGV[3]) > 0 and n >= tonumber(ARGV[3]) then return 'full' end
return 'ok'
`)

var createScript = goredis.NewScript(nowMs + `
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if tonumber(ARGV[4]) > 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 'too-many' end
local ttl = tonumber(ARGV[5])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('HSET', KEYS[1], 'i', ARGV[2], 'n', 1, 'c:' .. ARGV[2], ARGV[3], 't:' .. ARGV[3], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
return 'ok'
`)

var joinScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
local n = tonumber(redis.call('HGET', KEYS[1], 'n'))
if tonumber(ARGV[3]) > 0 and n >= tonumber(ARGV[3]) then return 'full' end
redis.call('HSET', KEYS[1], 'c:' .. ARGV[1], ARGV[2], 't:' .. ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'n', 1)
return 'ok:' .. redis.call('HGET', KEYS[1], 'i')
`)

var leaveScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
local tok = redis.call('HGET', KEYS[1], 'c:' .. ARGV[2])
if not tok then return 'unknown-peer' end
local init = redis.call('HGET', KEYS[1], 'i')
if ARGV[2] ~= init then
  redis.call('HDEL', KEYS[1], 'c:' .. ARGV[2], 't:' .. tok)
  redis.call('HINCRBY', KEYS[1], 'n', -1)
  return 'left:' .. init
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 'ended'
`)

// memberScript answers whether field ARGV[1] exists in the swarm.
var memberScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'no' end
return 'ok'
`)

var refreshScript = goredis.NewScript(nowMs + `
if redis.call('PEXPIRE', KEYS[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
`)

func (s *Store) run(ctx context.Context, sc *goredis.Script, keys []string, args ...any) (string, error) {
	v, err := sc.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil {
		return "", fmt.Errorf("signalstore: %w", err)
	}
	return v, nil
}

// Admit implements [signal.Store].
func (s *Store) Admit(ctx context.Context, id string, maxSwarms, maxPeers int) error {
	v, err := s.run(ctx, admitScript, []string{s.swarmKey(id), s.swarmsKey()}, id, maxSwarms, maxPeers)
	if err != nil {
		return err
	}
	return result(v)
}

func result(v string) error {
	switch v {
	case "ok":
		return nil
	case "unknown":
		return signal.ErrUnknownSwarm
	case "unknown-peer", "no":
		return signal.ErrUnknownPeer
	case "too-many":
		return signal.ErrTooManySwarms
	case "full":
		return signal.ErrSwarmFull
	}
	return fmt.Errorf("signalstore: unexpected answer %q from a script", v)
}

// Create implements [signal.Store].
func (s *Store) Create(ctx context.Context, id string, m signal.Member, maxSwarms int) error {
	d := hex.EncodeToString(m.Token[:])
	v, err := s.run(ctx, createScript, []string{s.swarmKey(id), s.swarmsKey()}, id, m.CID, d, maxSwarms, s.ttl.Milliseconds())
	if err != nil {
		return err
	}
	if err := result(v); err != nil {
		return err
	}
	s.mu.Lock()
	s.initiated[id] = true
	s.hosted[id]++
	s.mu.Unlock()
	return nil
}

// Join implements [signal.Store].
func (s *Store) Join(ctx context.Context, id string, m signal.Member, maxPeers int) (string, error) {
	d := hex.EncodeToString(m.Token[:])
	v, err := s.run(ctx, joinScript, []string{s.swarmKey(id)}, m.CID, d, maxPeers)
	if err != nil {
		return "", err
	}
	initiator, ok := strings.CutPrefix(v, "ok:")
	if !ok {
		return "", result(v)
	}
	s.mu.Lock()
	s.hosted[id]++
	s.mu.Unlock()
	return initiator, nil
}

// Leave implements [signal.Store].
func (s *Store) Leave(ctx context.Context, id, cid string) (signal.Departure, error) {
	s.mu.Lock()
	if s.hosted[id]--; s.hosted[id] <= 0 {
		delete(s.hosted, id)
		delete(s.initiated, id)
	}
	s.mu.Unlock()
	v, err := s.run(ctx, leaveScript, []string{s.swarmKey(id), s.swarmsKey()}, id, cid)
	if err != nil {
		return signal.Departure{}, err
	}
	if v == "ended" {
		return signal.Departure{Ended: true}, nil
	}
	if initiator, ok := strings.CutPrefix(v, "left:"); ok {
		return signal.Departure{Initiator: initiator}, nil
	}
	return signal.Departure{}, result(v)
}

// Authorize implements [signal.Store]. The token's digest is looked up,
// never compared with a stored one: timing tells a guesser nothing.
func (s *Store) Authorize(ctx context.Context, id string, token signal.TokenDigest) error {
	v, err := s.run(ctx, memberScript, []string{s.swarmKey(id)}, "t:"+hex.EncodeToString(token[:]))
	if err != nil {
		return err
	}
	if v == "no" {
		return signal.ErrBadToken
	}
	return result(v)
}

// Check implements [signal.Store].
func (s *Store) Check(ctx context.Context, id, cid string) error {
	v, err := s.run(ctx, memberScript, []string{s.swarmKey(id)}, "c:"+cid)
	if err != nil {
		return err
	}
	return result(v)
}

// Maintain implements [signal.Store]: it keeps the swarms whose
// initiator is here alive, and returns the swarms with members here that
// are gone: their initiator's server died without a word, and the swarm
// expired. An error from Redis leaves a swarm for the next call.
func (s *Store) Maintain(ctx context.Context) []string {
	s.mu.Lock()
	var mine, others []string
	for id := range s.hosted {
		if s.initiated[id] {
			mine = append(mine, id)
		} else {
			others = append(others, id)
		}
	}
	s.mu.Unlock()
	for _, id := range mine {
		_ = refreshScript.Run(ctx, s.rdb, []string{s.swarmKey(id), s.swarmsKey()}, id, s.ttl.Milliseconds()).Err()
	}
	var gone []string
	for _, id := range others {
		n, err := s.rdb.Exists(ctx, s.swarmKey(id)).Result()
		if err == nil && n == 0 {
			gone = append(gone, id)
		}
	}
	return gone
}
