package redis

import goredis "github.com/redis/go-redis/v9"

// Positions are taken in Redis, by the scripts below, from one counter
// (the key "<prefix>seq") shared by every room: the wall clock in
// microseconds, or one more than the last position when the clock has not
// moved past it. Each kept message is appended to its room's stream with
// the stream id "<position>-0" and published on the channel as
// "<position>\n<message>" by the same script, so the channel's order is
// the order of positions, on every node. The key "<prefix>since" holds
// the first position of this Redis dataset: a Redis restarted without its
// data starts a new one, and older positions cannot be replayed from.
//
// Microseconds, not nanoseconds: Lua's numbers are doubles, exact up to
// 2^53, and a position in microseconds stays below that until the year
// 2255. Redis runs one script at a time, each taking microseconds, so
// the counter does not run ahead of the clock.

// initScript makes sure the counter and the dataset's start exist and
// returns both. KEYS: seq, since.
var initScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('SET', KEYS[1], string.format('%d', now), 'NX')
redis.call('SET', KEYS[2], redis.call('GET', KEYS[1]), 'NX')
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), string.format('%d', now)}
`)

// publishKept takes the next position, appends the message to its room's
// stream, trims the stream to History.Size and MaxAge while recording the
// newest position trimmed away (the key "<prefix>trim:<room>", so Replay
// knows of the gap), and publishes it, all at once. KEYS: stream, trim,
// seq, since, lastpub (by stream key, the position of its last message,
// which outlives the stream), prevpub (by stream key, the last position
// of the stream before it expired and was made again). ARGV: maxlen,
// max age in microseconds (0: none), message, channel. It returns the
// position.
var publishKept = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local pos = now
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if pos <= last then pos = last + 1 end
local p = string.format('%d', pos)
redis.call('SET', KEYS[3], p)
redis.call('SET', KEYS[4], p, 'NX')
if redis.call('EXISTS', KEYS[1]) == 0 then
  local old = redis.call('HGET', KEYS[5], KEYS[1])
  if old then redis.call('HSET', KEYS[6], KEYS[1], old) end
end
redis.call('HSET', KEYS[5], KEYS[1], p)
local maxlen = tonumber(ARGV[1])
local len = redis.call('XLEN', KEYS[1])
if len >= maxlen then
  local old = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', len - maxlen + 1)
  redis.call('SET', KEYS[2], old[#old][1])
end
redis.call('XADD', KEYS[1], 'MAXLEN', maxlen, p .. '-0', 'm', ARGV[3])
local age = tonumber(ARGV[2])
if age > 0 then
  local bound = string.format('%d', now - age)
  local old = redis.call('XREVRANGE', KEYS[1], '(' .. bound .. '-0', '-', 'COUNT', 1)
  if #old > 0 then
    redis.call('SET', KEYS[2], old[1][1])
    redis.call('XTRIM', KEYS[1], 'MINID', bound)
  end
  local ttl = math.ceil(age / 1000)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
redis.call('PUBLISH', ARGV[4], p .. '\n' .. ARGV[3])
return p
`)

// recoverScript reads, at one instant, what a node whose subscription
// was down must deliver after its last delivered position: from is that
// position, or since-1 when Redis lost its data since (what came before
// the dataset began is gone); then for every room's stream its last
// message's position (which outlives a stream expired with MaxAge), its
// first entry, the newest position trimmed away, and the messages after
// from. Records of streams quiet for longer than the retention are
// dropped. KEYS: seq, since, lastpub, prevpub. ARGV: the node's last
// position, the retention in microseconds, the key prefix. It returns
// {from, now, {stream, lastpub, prevpub, first, trim, entries}...}, with
// "" for what is missing.
var recoverScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('SET', KEYS[1], string.format('%d', now), 'NX')
redis.call('SET', KEYS[2], redis.call('GET', KEYS[1]), 'NX')
local since = tonumber(redis.call('GET', KEYS[2]))
local from = tonumber(ARGV[1])
if from < since then from = since - 1 end
local f = string.format('%d', from)
local out = {f, string.format('%d', now)}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local key, lp = all[i], all[i + 1]
  if redis.call('EXISTS', key) == 0 and tonumber(lp) + tonumber(ARGV[2]) < now then
    redis.call('HDEL', KEYS[3], key)
    redis.call('HDEL', KEYS[4], key)
  else
    local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)
    local fid = ''
    if #first > 0 then fid = first[1][1] end
    local trim = redis.call('GET', ARGV[3] .. 'trim:' .. string.sub(key, #ARGV[3] + 6)) or ''
    local pp = redis.call('HGET', KEYS[4], key) or ''
    table.insert(out, {key, lp, pp, fid, trim, redis.call('XRANGE', key, '(' .. f .. '-0', '+')})
  end
end
return out
`)
