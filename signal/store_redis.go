package signal

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse"
)

// swarmTTL bounds how long a swarm outlives the last refresh by its
// initiator's server: a server that dies takes its swarms with it within
// swarmTTL, when peers on other servers are closed.
const swarmTTL = 60 * time.Second

// redisStore keeps the swarms in Redis, shared by every Server on it: a
// hash per swarm (initiator, peer count, and each member's token digest
// both ways) and a sorted set of swarm ids by expiry, for MaxSwarms.
// Each operation is one Lua script, so it is atomic across servers.
type redisStore struct {
	rdb                 goredis.UniversalClient
	prefix              string
	maxSwarms, maxPeers int
	ttl                 time.Duration

	// The swarms this server has members of, for refresh and sweep.
	mu        sync.Mutex
	initiated map[string]bool // swarm id -> its initiator is here
	hosted    map[string]int  // swarm id -> members here
}

var _ store = (*redisStore)(nil)

func newRedisStore(rdb goredis.UniversalClient, prefix string, maxSwarms, maxPeers int) *redisStore {
	return &redisStore{
		rdb: rdb, prefix: prefix, maxSwarms: maxSwarms, maxPeers: maxPeers, ttl: swarmTTL,
		initiated: map[string]bool{}, hosted: map[string]int{},
	}
}

func (s *redisStore) swarmKey(id string) string { return s.prefix + "swarm:" + id }
func (s *redisStore) swarmsKey() string         { return s.prefix + "swarms" }

func hexDigest(token string) string {
	d := digest(token)
	return hex.EncodeToString(d[:])
}

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

func (s *redisStore) run(ctx context.Context, sc *goredis.Script, keys []string, args ...any) (string, error) {
	v, err := sc.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil {
		return "", fmt.Errorf("signal: swarm store: %w", err)
	}
	return v, nil
}

func (s *redisStore) admit(ctx context.Context, id string) error {
	v, err := s.run(ctx, admitScript, []string{s.swarmKey(id), s.swarmsKey()}, id, s.maxSwarms, s.maxPeers)
	if err != nil {
		return err
	}
	return storeResult(v)
}

func storeResult(v string) error {
	switch v {
	case "ok":
		return nil
	case "unknown":
		return errUnknownSwarm
	case "unknown-peer", "no":
		return errUnknownPeer
	case "too-many":
		return errTooManySwarms
	case "full":
		return errSwarmFull
	}
	return fmt.Errorf("signal: swarm store: unexpected answer %q", v)
}

func (s *redisStore) create(ctx context.Context, id string, m member) error {
	d := hex.EncodeToString(m.token[:])
	v, err := s.run(ctx, createScript, []string{s.swarmKey(id), s.swarmsKey()}, id, m.cid, d, s.maxSwarms, s.ttl.Milliseconds())
	if err != nil {
		return err
	}
	if err := storeResult(v); err != nil {
		return err
	}
	s.mu.Lock()
	s.initiated[id] = true
	s.hosted[id]++
	s.mu.Unlock()
	return nil
}

func (s *redisStore) join(ctx context.Context, id string, m member) (string, error) {
	d := hex.EncodeToString(m.token[:])
	v, err := s.run(ctx, joinScript, []string{s.swarmKey(id)}, m.cid, d, s.maxPeers)
	if err != nil {
		return "", err
	}
	initiator, ok := cutPrefix(v, "ok:")
	if !ok {
		return "", storeResult(v)
	}
	s.mu.Lock()
	s.hosted[id]++
	s.mu.Unlock()
	return initiator, nil
}

func (s *redisStore) leave(ctx context.Context, id, cid string) (departure, error) {
	s.mu.Lock()
	if s.hosted[id]--; s.hosted[id] <= 0 {
		delete(s.hosted, id)
		delete(s.initiated, id)
	}
	s.mu.Unlock()
	v, err := s.run(ctx, leaveScript, []string{s.swarmKey(id), s.swarmsKey()}, id, cid)
	if err != nil {
		return departure{}, err
	}
	if v == "ended" {
		return departure{ended: true}, nil
	}
	if initiator, ok := cutPrefix(v, "left:"); ok {
		return departure{initiator: initiator}, nil
	}
	return departure{}, storeResult(v)
}

func (s *redisStore) authorize(ctx context.Context, id, token string) error {
	// The token's digest is looked up, never compared with a stored
	// token: timing tells a guesser nothing.
	v, err := s.run(ctx, memberScript, []string{s.swarmKey(id)}, "t:"+hexDigest(token))
	if err != nil {
		return err
	}
	if v == "no" {
		return errBadToken
	}
	return storeResult(v)
}

func (s *redisStore) check(ctx context.Context, id, cid string) error {
	v, err := s.run(ctx, memberScript, []string{s.swarmKey(id)}, "c:"+cid)
	if err != nil {
		return err
	}
	return storeResult(v)
}

// maintain keeps the swarms whose initiator is here alive, and closes the
// streams here of swarms that are gone: their initiator's server died
// without telling, and the swarm expired.
func (s *redisStore) maintain(ctx context.Context, b *sse.Broker) {
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
	for _, id := range others {
		n, err := s.rdb.Exists(ctx, s.swarmKey(id)).Result()
		if err == nil && n == 0 {
			_ = b.CloseRoom(ctx, id)
		}
	}
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}
