package redis

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse"
)

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

// handle delivers one channel message: "<position>\n<message>" for a
// kept one, "\n<message>" for the others.
func (bp *Backplane) handle(payload string) {
	pos, raw, ok := strings.Cut(payload, "\n")
	if !ok {
		bp.log.Error("sse/backplane/redis: malformed channel message")
		return
	}
	m, err := decode([]byte(raw))
	if err != nil {
		bp.log.Error("sse/backplane/redis: malformed channel message", "error", err)
		return
	}
	if pos != "" {
		p, ok := parsePos(pos)
		if !ok {
			bp.log.Error("sse/backplane/redis: malformed position", "position", pos)
			return
		}
		if p <= bp.high {
			return // delivered already, by a recovery or before Attach's position
		}
		m.Seq = p
		bp.high = p
	}
	bp.deliver(m)
}

// recoverGap delivers the kept messages published while the subscription
// was down, in order, with a gap message (a resync for its clients) in
// the place of those that were trimmed meanwhile. With nothing kept, or
// when Redis cannot tell, every local client is told of a gap.
func (bp *Backplane) recoverGap() {
	if bp.history.Size <= 0 {
		bp.deliver(sse.Message{Kind: sse.KindGap})
		return
	}
	ctx, cancel := context.WithTimeout(bp.ctx, 30*time.Second)
	defer cancel()
	items, err := bp.recoverable(ctx)
	if err != nil {
		bp.log.Error("sse/backplane/redis: recovery failed; telling every client of a gap", "error", err)
		st, err := bp.state(ctx)
		if err != nil {
			// The position is unknown: the clients resync without one,
			// and live messages go on from the next one received.
			bp.deliver(sse.Message{Kind: sse.KindGap})
			return
		}
		items = []sse.Message{{Kind: sse.KindGap, Seq: max(st.seq, bp.high+1)}}
	}
	n := 0
	for _, m := range items {
		if m.Seq <= bp.high {
			continue
		}
		bp.high = m.Seq
		bp.deliver(m)
		if m.Kind != sse.KindGap {
			n++
		}
	}
	if n > 0 {
		bp.log.Info("sse/backplane/redis: recovered messages", "count", n)
	}
}

// recoverable reads what was kept after bp.high, with gap messages where
// some of it is gone, in the order of positions.
func (bp *Backplane) recoverable(ctx context.Context) ([]sse.Message, error) {
	st, err := bp.state(ctx)
	if err != nil {
		return nil, err
	}
	// Where there is no telling which rooms lost what, every client
	// resyncs at from, and what is kept after from is delivered: Redis
	// lost its data (what came before its dataset began is gone), or
	// streams quiet for MaxAge may have expired whole (what is younger
	// than MaxAge is still kept).
	from := bp.high
	var items []sse.Message
	if from < st.since {
		from = st.since - 1
	}
	if age := uint64(bp.history.MaxAge.Microseconds()); age > 0 && from+age <= st.now {
		from = st.now - age
	}
	if from > bp.high {
		items = append(items, sse.Message{Kind: sse.KindGap, Seq: from})
	}
	var keys []string
	iter := bp.rdb.Scan(ctx, 0, bp.prefix+"room:*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	pipe := bp.rdb.Pipeline()
	trims := make([]*goredis.StringCmd, len(keys))
	ranges := make([]*goredis.XMessageSliceCmd, len(keys))
	for i, k := range keys {
		trims[i] = pipe.Get(ctx, bp.trimKey(k))
		ranges[i] = pipe.XRange(ctx, k, "("+entryID(from), "+")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	for i, k := range keys {
		if t, err := trims[i].Result(); err == nil {
			if tp, ok := parseEntryID(t); ok && tp > from {
				room := strings.TrimPrefix(k, bp.prefix+"room:")
				if room == "*" {
					room = "" // KindAll messages were lost: everybody
				}
				items = append(items, sse.Message{Kind: sse.KindGap, Room: room, Seq: tp})
			}
		}
		for _, xm := range ranges[i].Val() {
			m, err := fromStream(xm)
			if err != nil {
				return nil, err
			}
			items = append(items, m)
		}
	}
	slices.SortStableFunc(items, func(a, b sse.Message) int { return cmp.Compare(a.Seq, b.Seq) })
	return items, nil
}
