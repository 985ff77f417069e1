package redis

import (
	"cmp"
	"context"
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
// was down, in order, after a gap message (a resync for its clients) for
// each room that lost some of them meanwhile. With nothing kept, or
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
	from, high := bp.high, bp.high
	for _, m := range items {
		if m.Seq <= from {
			continue
		}
		high = max(high, m.Seq)
		bp.deliver(m)
		if m.Kind != sse.KindGap {
			n++
		}
	}
	bp.high = high
	if n > 0 {
		bp.log.Info("sse/backplane/redis: recovered messages", "count", n)
	}
}

// recoverable reads what was kept after bp.high, with gap messages where
// some of it is gone: the gaps first, then the rest in the order of
// positions. It reads every stream at
// one instant (see recoverScript): read one after another, a stream made
// or written between two reads could hold a message older than the
// newest one read, which bp.high would then pass by.
func (bp *Backplane) recoverable(ctx context.Context) ([]sse.Message, error) {
	keep := uint64(lastPubRetention.Microseconds())
	res, err := recoverScript.Run(ctx, bp.rdb, bp.pubKeys(), bp.high, keep, bp.prefix).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) < 2 {
		return nil, errCorrupt
	}
	fs, _ := res[0].(string)
	ns, _ := res[1].(string)
	from, ok1 := parsePos(fs)
	now, ok2 := parsePos(ns)
	if !ok1 || !ok2 {
		return nil, errCorrupt
	}
	var items []sse.Message
	if from > bp.high {
		// Redis lost its data: there is no telling which rooms lost what,
		// so every client resyncs at from.
		items = append(items, sse.Message{Kind: sse.KindGap, Seq: from})
	}
	if bp.history.MaxAge > 0 && from+keep < now {
		// Cut off for longer than expired streams are remembered.
		from = now - keep
		items = append(items, sse.Message{Kind: sse.KindGap, Seq: from})
	}
	for _, r := range res[2:] {
		row, _ := r.([]any)
		if len(row) != 6 {
			return nil, errCorrupt
		}
		var f [5]string
		for i := range f {
			f[i], _ = row[i].(string)
		}
		key, lastPub, prevPub, first, trim := f[0], f[1], f[2], f[3], f[4]
		entries, _ := row[5].([]any)
		room := strings.TrimPrefix(key, bp.prefix+"room:")
		if room == "*" {
			room = "" // KindAll messages were lost: everybody
		}
		if gap, lost := bp.lost(from, lastPub, prevPub, first, trim); lost {
			items = append(items, sse.Message{Kind: sse.KindGap, Room: room, Seq: gap})
		}
		for _, e := range entries {
			m, err := entryMessage(e)
			if err != nil {
				return nil, err
			}
			items = append(items, m)
		}
	}
	// Gap messages first: a gap's position is where its room is whole
	// again, which may come after messages of other rooms recovered
	// here, and a client in both must be resynced before any of them
	// (it then drops those at or before the gap's position, which the
	// resync covers). The rest in the order of positions.
	slices.SortStableFunc(items, func(a, b sse.Message) int {
		if ga, gb := a.Kind == sse.KindGap, b.Kind == sse.KindGap; ga != gb {
			if ga {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	return items, nil
}

// lost tells whether messages of a room's stream after from are gone,
// and the position up to which they may be: trimmed (the trim record),
// expired with the whole stream (its last position, kept in lastpub), or
// expired with the stream the room had before its present one (whose last
// position is kept in prevpub).
func (bp *Backplane) lost(from uint64, lastPub, prevPub, first, trim string) (uint64, bool) {
	if tp, ok := parseEntryID(trim); ok && tp > from {
		return tp, true
	}
	if bp.history.MaxAge <= 0 {
		return 0, false // streams never expire
	}
	if first != "" {
		if fp, ok := parseEntryID(first); ok && fp <= from {
			return 0, false // the present stream was there at from
		}
		if pp, ok := parsePos(prevPub); ok && pp > from {
			return pp, true
		}
		return 0, false
	}
	if lp, ok := parsePos(lastPub); ok && lp > from {
		return lp, true
	}
	return 0, false
}

// entryMessage decodes one stream entry as a script returns it:
// {id, {field, value...}}.
func entryMessage(e any) (sse.Message, error) {
	pair, _ := e.([]any)
	if len(pair) != 2 {
		return sse.Message{}, errCorrupt
	}
	id, _ := pair[0].(string)
	fields, _ := pair[1].([]any)
	values := map[string]any{}
	for i := 0; i+1 < len(fields); i += 2 {
		if k, ok := fields[i].(string); ok {
			values[k] = fields[i+1]
		}
	}
	return fromStream(goredis.XMessage{ID: id, Values: values})
}
