// Package redis is an [sse.Backplane] on Redis (7.0 or later), so that
// several processes, each with its own [sse.Broker], serve one set of
// rooms, replay and signalling swarms.
//
// Every message goes through one Redis channel, so each node sees all
// messages in one order. A message kept for replay is appended to its
// room's stream and published by one Lua script, so stream order and
// channel order agree and the stream id is the event's id, the same on
// every node. Streams are bounded by sse.History's Size and MaxAge.
//
// # Failures
//
// Publish returns an error when Redis cannot be reached: a message is
// never lost silently on the publishing side. The subscription reconnects
// by itself with exponential backoff; once it is back, kept messages
// published meanwhile are read back from the streams and delivered in
// order, each once. When no history is kept there is nothing to read
// back, so every local client is sent an [sse.ResyncEvent] instead.
// Direct messages ([sse.Broker.SendTo], [sse.Broker.BroadcastFilter]) are
// not kept and may be lost by a node whose subscription was down.
package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse"
)

// Config configures a [Backplane].
type Config struct {
	// Client is the Redis connection to use; the caller keeps owning it
	// (Close does not close it). Required.
	Client goredis.UniversalClient
	// Prefix starts every key and the channel name. Zero: "sse:".
	// Brokers on the same Redis with different prefixes do not meet.
	Prefix string
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles from one to the other. Zero: 50ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives reconnections and errors. Nil: nothing is logged.
	Logger *slog.Logger
}

// Backplane is an [sse.Backplane] on Redis. Create one per Broker with
// [New] and pass it in sse.Config.Backplane.
type Backplane struct {
	rdb     goredis.UniversalClient
	prefix  string
	channel string
	log     *slog.Logger
	minBack time.Duration
	maxBack time.Duration

	history sse.History
	deliver func(sse.Message)
	ps      *goredis.PubSub
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once

	// mu guards last and high, written by the receiving goroutine after
	// each delivery; progress is closed (and replaced) after a delivery
	// when a Replay is waiting for deliveries to catch up.
	mu       sync.Mutex
	last     map[string]streamID // per stream key, the last kept id delivered
	high     streamID            // the highest kept id delivered
	waiting  int
	progress chan struct{}
}

var _ sse.Backplane = (*Backplane)(nil)

// New returns a Backplane on cfg.Client. It does not contact Redis until
// the broker attaches it.
func New(cfg Config) (*Backplane, error) {
	if cfg.Client == nil {
		return nil, errors.New("sse/backplane/redis: Config.Client is nil")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "sse:"
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Backplane{
		rdb: cfg.Client, prefix: cfg.Prefix, channel: cfg.Prefix + "events", log: cfg.Logger,
		minBack: cfg.MinBackoff, maxBack: cfg.MaxBackoff,
		ctx: ctx, cancel: cancel, done: make(chan struct{}), last: map[string]streamID{},
		progress: make(chan struct{}),
	}, nil
}

// Attach subscribes to the channel and starts delivering. It fails if
// Redis cannot be reached.
func (bp *Backplane) Attach(deliver func(sse.Message), history sse.History) error {
	bp.deliver, bp.history = deliver, history
	bp.ps = bp.rdb.Subscribe(bp.ctx, bp.channel)
	ctx, cancel := context.WithTimeout(bp.ctx, 10*time.Second)
	defer cancel()
	if _, err := bp.ps.ReceiveTimeout(ctx, 10*time.Second); err != nil {
		_ = bp.ps.Close()
		close(bp.done)
		return fmt.Errorf("sse/backplane/redis: subscribe: %w", err)
	}
	go bp.receive()
	return nil
}

// Close stops the subscription and waits for the receiving goroutine.
func (bp *Backplane) Close() error {
	var err error
	bp.once.Do(func() {
		bp.cancel()
		if bp.ps != nil {
			err = bp.ps.Close()
		}
	})
	<-bp.done
	return err
}

func (bp *Backplane) streamKey(m *sse.Message) string {
	if m.Kind == sse.KindAll {
		return bp.prefix + "room:*"
	}
	return bp.prefix + "room:" + m.Room
}

func (bp *Backplane) roomKey(room string) string { return bp.prefix + "room:" + room }

// trimKey names the key that holds the newest id trimmed from a stream.
func (bp *Backplane) trimKey(streamKey string) string {
	return bp.prefix + "trim:" + strings.TrimPrefix(streamKey, bp.prefix+"room:")
}

// publishKept appends the message to its room's stream, records the
// newest entry it trims away (so Replay knows of the gap), and publishes
// "<stream id>\n<message>" on the channel, all at once.
var publishKept = goredis.NewScript(`
local maxlen = tonumber(ARGV[1])
local age = tonumber(ARGV[2])
local len = redis.call('XLEN', KEYS[1])
if len >= maxlen then
  local old = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', len - maxlen + 1)
  redis.call('SET', KEYS[2], old[#old][1])
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', maxlen, '*', 'm', ARGV[3])
if age > 0 then
  local t = redis.call('TIME')
  local minid = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - age
  if minid > 0 then
    local bound = string.format('%d', minid)
    local old = redis.call('XREVRANGE', KEYS[1], '(' .. bound .. '-0', '-', 'COUNT', 1)
    if #old > 0 then
      redis.call('SET', KEYS[2], old[1][1])
      redis.call('XTRIM', KEYS[1], 'MINID', bound)
    end
  end
  redis.call('PEXPIRE', KEYS[1], age)
  redis.call('PEXPIRE', KEYS[2], age)
end
redis.call('PUBLISH', ARGV[4], id .. '\n' .. ARGV[3])
return id
`)

// Publish sends m to every node, appending it to its room's stream first
// when m.Keep is set. It returns Redis's error when the message may not
// have been sent.
func (bp *Backplane) Publish(ctx context.Context, m sse.Message) error {
	payload := encode(&m)
	if !m.Keep || bp.history.Size <= 0 {
		return bp.rdb.Publish(ctx, bp.channel, append([]byte{'\n'}, payload...)).Err()
	}
	key := bp.streamKey(&m)
	age := bp.history.MaxAge.Milliseconds()
	return publishKept.Run(ctx, bp.rdb, []string{key, bp.trimKey(key)},
		bp.history.Size, age, payload, bp.channel).Err()
}

// Replay returns the kept messages of rooms after lastID, merged in id
// order.
func (bp *Backplane) Replay(ctx context.Context, rooms []string, lastID string) ([]sse.Message, error) {
	keys := make([]string, len(rooms))
	for i, r := range rooms {
		keys[i] = bp.roomKey(r)
	}
	pos, found, err := bp.locate(ctx, keys, lastID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("sse/backplane/redis: id %q: %w", lastID, sse.ErrReplayMiss)
	}
	pipe := bp.rdb.Pipeline()
	trims := make([]*goredis.StringCmd, len(keys))
	ranges := make([]*goredis.XMessageSliceCmd, len(keys))
	for i, k := range keys {
		trims[i] = pipe.Get(ctx, bp.trimKey(k))
		ranges[i] = pipe.XRange(ctx, k, "("+pos.id.String(), "+")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	type entry struct {
		id streamID
		m  sse.Message
	}
	var entries []entry
	// The broker dedupes a replay against the live events it holds, so
	// every message returned (and lastID's own) must have been delivered
	// here first: wait for this node's deliveries to catch up.
	targets := map[string]streamID{}
	for i := range keys {
		if t, err := trims[i].Result(); err == nil {
			if tid, ok := parseStreamID(t); ok && pos.id.less(tid) {
				return nil, fmt.Errorf("sse/backplane/redis: events after %q were trimmed: %w", lastID, sse.ErrReplayMiss)
			}
		}
		for _, xm := range ranges[i].Val() {
			m, id, err := fromStream(xm)
			if err != nil {
				return nil, err
			}
			entries = append(entries, entry{id, m})
			targets[keys[i]] = id
		}
		if _, ok := targets[keys[i]]; !ok && pos.key == keys[i] {
			targets[keys[i]] = pos.id
		}
	}
	if err := bp.caughtUp(ctx, targets); err != nil {
		return nil, err
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return a.id.cmp(b.id) })
	msgs := make([]sse.Message, len(entries))
	for i, e := range entries {
		msgs[i] = e.m
	}
	return msgs, nil
}

// caughtUp waits until every target id has been delivered here.
func (bp *Backplane) caughtUp(ctx context.Context, targets map[string]streamID) error {
	bp.mu.Lock()
	bp.waiting++
	defer func() {
		bp.mu.Lock()
		bp.waiting--
		bp.mu.Unlock()
	}()
	for {
		behind := false
		for k, id := range targets {
			if last, ok := bp.last[k]; !ok || last.less(id) {
				behind = true
				break
			}
		}
		ch := bp.progress
		bp.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("sse/backplane/redis: waiting for deliveries to catch up: %w", ctx.Err())
		case <-bp.ctx.Done():
			return errors.New("sse/backplane/redis: closed")
		}
		bp.mu.Lock()
	}
}

// locate finds the stream position of lastID: a stream id present in one
// of the streams, or a caller's id stored in an entry.
func (bp *Backplane) locate(ctx context.Context, keys []string, lastID string) (position, bool, error) {
	if id, ok := parseStreamID(lastID); ok {
		pipe := bp.rdb.Pipeline()
		cmds := make([]*goredis.XMessageSliceCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.XRangeN(ctx, k, lastID, lastID, 1)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
			return position{}, false, err
		}
		for i, c := range cmds {
			if len(c.Val()) > 0 {
				return position{keys[i], id}, true, nil
			}
		}
	}
	// A caller's own id: look for it, newest first (history is bounded).
	var best position
	found := false
	for _, k := range keys {
		xs, err := bp.rdb.XRevRange(ctx, k, "+", "-").Result()
		if err != nil {
			return position{}, false, err
		}
		for _, xm := range xs {
			m, id, err := fromStream(xm)
			if err != nil {
				return position{}, false, err
			}
			if m.ID == lastID {
				if !found || best.id.less(id) {
					best, found = position{k, id}, true
				}
				break
			}
		}
	}
	return best, found, nil
}

// position is where an event sits: its stream and id.
type position struct {
	key string
	id  streamID
}

// fromStream decodes a stream entry, giving it its stream id unless the
// caller chose one.
func fromStream(xm goredis.XMessage) (sse.Message, streamID, error) {
	id, ok := parseStreamID(xm.ID)
	raw, _ := xm.Values["m"].(string)
	if !ok || raw == "" {
		return sse.Message{}, id, errCorrupt
	}
	m, err := decode([]byte(raw))
	if err != nil {
		return m, id, err
	}
	if m.ID == "" {
		m.ID = xm.ID
	}
	return m, id, nil
}

// receive delivers channel messages until Close, reconnecting with
// backoff and recovering what it missed meanwhile.
func (bp *Backplane) receive() {
	defer close(bp.done)
	backoff := bp.minBack
	lost := false
	for {
		msg, err := bp.ps.Receive(bp.ctx)
		if err != nil {
			if bp.ctx.Err() != nil {
				return
			}
			if !lost {
				bp.log.Warn("sse/backplane/redis: subscription lost", "error", err)
			}
			lost = true
			select {
			case <-bp.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, bp.maxBack)
			continue
		}
		switch v := msg.(type) {
		case *goredis.Subscription:
			if lost && v.Kind == "subscribe" {
				bp.log.Info("sse/backplane/redis: subscription restored")
				bp.recoverGap()
				lost, backoff = false, bp.minBack
			}
		case *goredis.Message:
			bp.handle(v.Payload)
		}
	}
}

func (bp *Backplane) handle(payload string) {
	sid, raw, ok := strings.Cut(payload, "\n")
	if !ok {
		bp.log.Error("sse/backplane/redis: malformed channel message")
		return
	}
	m, err := decode([]byte(raw))
	if err != nil {
		bp.log.Error("sse/backplane/redis: malformed channel message", "error", err)
		return
	}
	if sid != "" {
		id, ok := parseStreamID(sid)
		if !ok {
			bp.log.Error("sse/backplane/redis: malformed stream id", "id", sid)
			return
		}
		key := bp.streamKey(&m)
		if bp.delivered(key, id) {
			return // already delivered by a recovery
		}
		if m.ID == "" {
			m.ID = sid
		}
		bp.deliver(m)
		bp.markDelivered(key, id)
		return
	}
	bp.deliver(m)
}

// delivered reports whether id of stream key was delivered already.
func (bp *Backplane) delivered(key string, id streamID) bool {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	last, ok := bp.last[key]
	return ok && !last.less(id)
}

// markDelivered records id of stream key as delivered and wakes a Replay
// waiting for it.
func (bp *Backplane) markDelivered(key string, id streamID) {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	bp.last[key] = id
	if bp.high.less(id) {
		bp.high = id
	}
	if bp.waiting > 0 {
		close(bp.progress)
		bp.progress = make(chan struct{})
	}
}

// recoverGap delivers the kept messages published while the subscription
// was down, or announces a gap when nothing is kept.
func (bp *Backplane) recoverGap() {
	if bp.history.Size <= 0 {
		bp.deliver(sse.Message{Kind: sse.KindGap})
		return
	}
	ctx, cancel := context.WithTimeout(bp.ctx, 30*time.Second)
	defer cancel()
	var keys []string
	iter := bp.rdb.Scan(ctx, 0, bp.prefix+"room:*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		bp.log.Error("sse/backplane/redis: recovery failed; announcing a gap", "error", err)
		bp.deliver(sse.Message{Kind: sse.KindGap})
		return
	}
	type entry struct {
		key string
		id  streamID
		m   sse.Message
	}
	var entries []entry
	bp.mu.Lock()
	last, high := maps.Clone(bp.last), bp.high
	bp.mu.Unlock()
	for _, k := range keys {
		from, ok := last[k]
		if !ok {
			from = high
		}
		xs, err := bp.rdb.XRange(ctx, k, "("+from.String(), "+").Result()
		if err != nil {
			bp.log.Error("sse/backplane/redis: recovery failed; announcing a gap", "error", err)
			bp.deliver(sse.Message{Kind: sse.KindGap})
			return
		}
		for _, xm := range xs {
			m, id, err := fromStream(xm)
			if err != nil {
				continue
			}
			entries = append(entries, entry{k, id, m})
		}
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return a.id.cmp(b.id) })
	for _, e := range entries {
		if !bp.delivered(e.key, e.id) {
			bp.deliver(e.m)
			bp.markDelivered(e.key, e.id)
		}
	}
	if len(entries) > 0 {
		bp.log.Info("sse/backplane/redis: recovered messages", "count", len(entries))
	}
}

// streamID is a Redis stream id, milliseconds and a sequence number.
type streamID struct{ ms, seq uint64 }

func parseStreamID(s string) (streamID, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return streamID{}, false
	}
	return streamID{ms, seq}, true
}

func (id streamID) String() string {
	return strconv.FormatUint(id.ms, 10) + "-" + strconv.FormatUint(id.seq, 10)
}

func (id streamID) cmp(o streamID) int {
	if c := cmp.Compare(id.ms, o.ms); c != 0 {
		return c
	}
	return cmp.Compare(id.seq, o.seq)
}

func (id streamID) less(o streamID) bool { return id.cmp(o) < 0 }
