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
// some of it is gone, in the order of positions. It reads every stream at
// one instant (see recoverScript): read one after another, a stream made
// or written between two reads could hold a message older than the
// newest one read, which bp.high would then pass by.
func (bp *Backplane) recoverable(ctx context.Context) ([]sse.Message, error) {
	keys := append(bp.seqKeys(), bp.roomsKey())
	res, err := recoverScript.Run(ctx, bp.rdb, keys, bp.high, bp.history.MaxAge.Microseconds(), bp.prefix).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, errCorrupt
	}
	fs, _ := res[0].(string)
	from, ok := parsePos(fs)
	if !ok {
		return nil, errCorrupt
	}
	var items []sse.Message
	if from > bp.high {
		// Redis lost its data, or streams may have expired whole: there
		// is no telling which rooms lost what, so every client resyncs
		// at from, and what is kept after from is delivered.
		items = append(items, sse.Message{Kind: sse.KindGap, Seq: from})
	}
	for _, r := range res[1:] {
		row, _ := r.([]any)
		if len(row) != 3 {
			return nil, errCorrupt
		}
		key, _ := row[0].(string)
		trim, _ := row[1].(string)
		entries, _ := row[2].([]any)
		if tp, ok := parseEntryID(trim); ok && tp > from {
			room := strings.TrimPrefix(key, bp.prefix+"room:")
			if room == "*" {
				room = "" // KindAll messages were lost: everybody
			}
			items = append(items, sse.Message{Kind: sse.KindGap, Room: room, Seq: tp})
		}
		for _, e := range entries {
			m, err := entryMessage(e)
			if err != nil {
				return nil, err
			}
			items = append(items, m)
		}
	}
	slices.SortStableFunc(items, func(a, b sse.Message) int { return cmp.Compare(a.Seq, b.Seq) })
	return items, nil
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
