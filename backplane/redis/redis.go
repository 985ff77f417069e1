// Package redis is an [sse.Backplane] on Redis (7.0 or later), so that
// several processes, each with its own [sse.Broker], serve one set of
// rooms and replay.
//
// Every message goes through one Redis channel, so each node sees all
// messages in one order. A message kept for replay takes its position
// from one counter shared by all rooms, is appended to its room's stream
// and is published, by one Lua script: positions are the channel's
// order, the same on every node, and a client's Last-Event-ID tells
// where it stands in all of its rooms at once. Streams are bounded by
// sse.History's Size and MaxAge.
//
// # Failures
//
// Publish returns an error when the message may not reach every node: a
// message is never lost silently on the publishing side. An error
// wrapping [sse.ErrUncertain] means it may have been published; any
// other error means it was not. Publish returns when its context is done
// even if go-redis would wait longer (go-redis ignores context deadlines
// unless its Options.ContextTimeoutEnabled is set; set it too, so that
// the connection is not held after the call returns).
//
// The subscription reconnects by itself with exponential backoff; once it
// is back, kept messages published meanwhile are read back from the
// streams and delivered in order, each once. Where some of them were
// trimmed away meanwhile (History.Size or MaxAge), or Redis lost its
// data, the clients of the rooms concerned are sent an [sse.ResyncEvent]
// in their place. When no history is kept there is nothing to read back,
// so every local client is sent a resync event. Direct messages
// ([sse.Broker.SendTo], [sse.Broker.BroadcastFilter]) and
// [sse.Broker.CloseRoom] are not kept and may be lost by a node whose
// subscription was down.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	// (Close does not close it). Required. It must not retry commands
	// (go-redis Options.MaxRetries: -1; New refuses a *goredis.Client
	// that does): a publish whose reply is lost would run twice.
	// ContextTimeoutEnabled: true lets a publish's context bound its
	// connection too.
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
	// pubMu guards closing and the Add side of inflight, the publishes
	// under way, which Close waits for.
	pubMu    sync.Mutex
	closing  bool
	inflight sync.WaitGroup

	// high is the newest position delivered; only the receiving
	// goroutine (and Attach, before it starts) touches it.
	high uint64
}

var _ sse.Backplane = (*Backplane)(nil)

// New returns a Backplane on cfg.Client. It does not contact Redis until
// the broker attaches it.
func New(cfg Config) (*Backplane, error) {
	if cfg.Client == nil {
		return nil, errors.New("sse/backplane/redis: Config.Client is nil")
	}
	if c, ok := cfg.Client.(*goredis.Client); ok && c.Options().MaxRetries > 0 {
		// A publish whose reply is lost would run again: the event would
		// be kept and delivered twice, and Publish return nil.
		return nil, errors.New("sse/backplane/redis: the Redis client retries commands (Options.MaxRetries is positive, 3 by default), so a publish whose reply is lost would be delivered twice; set MaxRetries: -1")
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
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}, nil
}

// Attach subscribes to the channel, tells the broker the position
// reached, and starts delivering. It fails if Redis cannot be reached.
func (bp *Backplane) Attach(deliver func(sse.Message), history sse.History) error {
	bp.deliver, bp.history = deliver, history
	ctx, cancel := context.WithTimeout(bp.ctx, 10*time.Second)
	defer cancel()
	if err := bp.sameHistory(ctx); err != nil {
		close(bp.done)
		return err
	}
	bp.ps = bp.rdb.Subscribe(bp.ctx, bp.channel)
	fail := func(err error) error {
		_ = bp.ps.Close()
		close(bp.done)
		return fmt.Errorf("sse/backplane/redis: subscribe: %w", err)
	}
	if _, err := bp.ps.ReceiveTimeout(ctx, 10*time.Second); err != nil {
		return fail(err)
	}
	if history.Size > 0 {
		// Subscribed first, so every message after this position will
		// arrive on the channel; those at or before it that arrive too
		// are skipped.
		st, err := bp.state(ctx)
		if err != nil {
			return fail(err)
		}
		// Loaded now, a publish during a stall is one command (EVALSHA)
		// rather than EVALSHA failing late and EVAL never sent.
		if err := publishKept.Load(ctx, bp.rdb).Err(); err != nil {
			return fail(err)
		}
		if err := recoverScript.Load(ctx, bp.rdb).Err(); err != nil {
			return fail(err)
		}
		bp.high = st.seq
		bp.deliver(sse.Message{Kind: sse.KindPosition, Seq: st.seq})
	}
	go bp.receive()
	return nil
}

// sameHistory records this node's History in Redis, or checks it against
// the one recorded by the first node: nodes that keep different histories
// break each other's promises (a shorter MaxAge expires the streams a
// longer one replays from, a node without history publishes events that
// are never kept), so a node that differs is refused.
func (bp *Backplane) sameHistory(ctx context.Context) error {
	mine := fmt.Sprintf("size=%d maxage=%v", max(bp.history.Size, 0), bp.history.MaxAge)
	key := bp.prefix + "history"
	if err := bp.rdb.SetNX(ctx, key, mine, 0).Err(); err != nil {
		return fmt.Errorf("sse/backplane/redis: recording the history settings: %w", err)
	}
	theirs, err := bp.rdb.Get(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("sse/backplane/redis: reading the history settings: %w", err)
	}
	if theirs != mine {
		return fmt.Errorf("sse/backplane/redis: this node's History (%s) differs from the one the other nodes on prefix %q use (%s); give every node the same History, or another Prefix (or delete the key %q once no node of the old setting runs)", mine, bp.prefix, theirs, key)
	}
	return nil
}

// Close stops the subscription and waits for the receiving goroutine and
// for publishes whose callers stopped waiting.
func (bp *Backplane) Close() error {
	var err error
	bp.pubMu.Lock()
	bp.closing = true
	bp.pubMu.Unlock()
	bp.once.Do(func() {
		bp.cancel()
		if bp.ps != nil {
			err = bp.ps.Close()
		}
	})
	<-bp.done
	bp.inflight.Wait()
	return err
}

func (bp *Backplane) streamKey(m *sse.Message) string {
	if m.Kind == sse.KindAll {
		return bp.roomKey("*")
	}
	return bp.roomKey(m.Room)
}

func (bp *Backplane) roomKey(room string) string { return bp.prefix + "room:" + room }

// trimKey names the key that holds the newest id trimmed from a stream.
func (bp *Backplane) trimKey(streamKey string) string {
	return bp.prefix + "trim:" + strings.TrimPrefix(streamKey, bp.prefix+"room:")
}

func (bp *Backplane) seqKeys() []string { return []string{bp.prefix + "seq", bp.prefix + "since"} }

// lastPubKey names the hash of every room stream's last position, and
// prevPubKey that of the last position of the stream a room had before
// its present one (the earlier expired with MaxAge).
func (bp *Backplane) lastPubKey() string { return bp.prefix + "lastpub" }
func (bp *Backplane) prevPubKey() string { return bp.prefix + "prevpub" }

// pubKeys are the keys of the scripts' bookkeeping: seq, since, lastpub
// and prevpub.
func (bp *Backplane) pubKeys() []string {
	return append(bp.seqKeys(), bp.lastPubKey(), bp.prevPubKey())
}

// lastPubRetention is how long the last position of a stream that
// expired with MaxAge is remembered. A node cut off for longer, or a
// client away for longer, that may have missed such a stream's messages
// is resynced.
const lastPubRetention = 24 * time.Hour

// state is the counter, the dataset's first position and Redis's clock.
type state struct{ seq, since, now uint64 }

func (bp *Backplane) state(ctx context.Context) (state, error) {
	v, err := initScript.Run(ctx, bp.rdb, bp.seqKeys()).StringSlice()
	if err != nil {
		return state{}, err
	}
	if len(v) != 3 {
		return state{}, errCorrupt
	}
	var st state
	var ok [3]bool
	st.seq, ok[0] = parsePos(v[0])
	st.since, ok[1] = parsePos(v[1])
	st.now, ok[2] = parsePos(v[2])
	if !ok[0] || !ok[1] || !ok[2] {
		return state{}, errCorrupt
	}
	return st, nil
}

// Publish sends m to every node, appending it to its room's stream first
// when m.Keep is set. It returns when ctx is done, at the latest.
func (bp *Backplane) Publish(ctx context.Context, m sse.Message) error {
	payload := encode(&m)
	if !m.Keep || bp.history.Size <= 0 {
		return bp.do(ctx, func(ctx context.Context) error {
			return bp.rdb.Publish(ctx, bp.channel, append([]byte{'\n'}, payload...)).Err()
		})
	}
	key := bp.streamKey(&m)
	age := bp.history.MaxAge.Microseconds()
	keys := append([]string{key, bp.trimKey(key)}, bp.pubKeys()...)
	return bp.do(ctx, func(ctx context.Context) error {
		return publishKept.Run(ctx, bp.rdb, keys, bp.history.Size, age, payload, bp.channel).Err()
	})
}

// do runs one publishing command, giving up when ctx is done even if the
// client does not, and says whether a failed command may have run.
func (bp *Backplane) do(ctx context.Context, f func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	bp.pubMu.Lock()
	if bp.closing {
		bp.pubMu.Unlock()
		return sse.ErrClosed
	}
	bp.inflight.Add(1)
	bp.pubMu.Unlock()
	if ctx.Done() == nil {
		defer bp.inflight.Done()
		return classify(f(ctx))
	}
	res := make(chan error, 1)
	go func() {
		defer bp.inflight.Done()
		res <- f(ctx)
	}()
	select {
	case err := <-res:
		return classify(err)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", sse.ErrUncertain, ctx.Err())
	}
}

// classify marks an error after which the command may have run: all but
// those met before anything was sent (no connection to be had).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var op *net.OpError
	if errors.Is(err, goredis.ErrPoolTimeout) || errors.Is(err, goredis.ErrClosed) || errors.As(err, &op) && op.Op == "dial" {
		return err
	}
	return fmt.Errorf("%w: %w", sse.ErrUncertain, err)
}

func parsePos(s string) (uint64, bool) {
	p, err := strconv.ParseUint(s, 10, 64)
	return p, err == nil && p != 0 && strconv.FormatUint(p, 10) == s
}

// parseEntryID reads a stream id "<position>-0".
func parseEntryID(s string) (uint64, bool) {
	p, ok := strings.CutSuffix(s, "-0")
	if !ok {
		return 0, false
	}
	return parsePos(p)
}

func entryID(p uint64) string { return strconv.FormatUint(p, 10) + "-0" }
