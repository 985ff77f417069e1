package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse"
)

// Replay returns the kept messages of rooms after the position of
// lastID, merged in the order of positions, and that position.
func (bp *Backplane) Replay(ctx context.Context, rooms []string, lastID string) ([]sse.Message, uint64, error) {
	keys := make([]string, len(rooms))
	for i, r := range rooms {
		keys[i] = bp.roomKey(r)
	}
	st, err := bp.state(ctx)
	if err != nil {
		return nil, 0, err
	}
	from, ok, err := bp.resolve(ctx, keys, lastID, st)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, fmt.Errorf("sse/backplane/redis: id %q: %w", lastID, sse.ErrReplayMiss)
	}
	// One transaction, so that the streams are read at one instant: read
	// one after another, a publish between two reads could put an event
	// of the first room before the last event read from the second, and
	// the broker, taking the replay's end as the client's position, would
	// drop it as a copy.
	pipe := bp.rdb.TxPipeline()
	clock := pipe.Time(ctx)
	lastPubs := pipe.HMGet(ctx, bp.lastPubKey(), keys...)
	prevPubs := pipe.HMGet(ctx, bp.prevPubKey(), keys...)
	trims := make([]*goredis.StringCmd, len(keys))
	firsts := make([]*goredis.XMessageSliceCmd, len(keys))
	ranges := make([]*goredis.XMessageSliceCmd, len(keys))
	for i, k := range keys {
		trims[i] = pipe.Get(ctx, bp.trimKey(k))
		firsts[i] = pipe.XRangeN(ctx, k, "-", "+", 1)
		ranges[i] = pipe.XRange(ctx, k, "("+entryID(from), "+")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, 0, err
	}
	// MaxAge is judged at the instant of the reads: a stream may have
	// expired since st was read.
	now := uint64(clock.Val().UnixMicro())
	lps, pps := lastPubs.Val(), prevPubs.Val()
	var msgs []sse.Message
	for i := range keys {
		trim, _ := trims[i].Result()
		first := ""
		if xs := firsts[i].Val(); len(xs) > 0 {
			first = xs[0].ID
		}
		var lp, pp string
		if i < len(lps) {
			lp, _ = lps[i].(string)
		}
		if i < len(pps) {
			pp, _ = pps[i].(string)
		}
		_, lost := bp.lost(from, lp, pp, first, trim)
		if !lost && bp.history.MaxAge > 0 && from+uint64(lastPubRetention.Microseconds()) < now {
			// Older than the records of expired streams: a stream that is
			// missing, or that began after from with no record of an
			// earlier one, may have lost messages after from.
			fp, ok := parseEntryID(first)
			lost = lp == "" && first == "" || ok && fp > from && pp == ""
		}
		if lost {
			// The position is known: the client has everything up to it,
			// which its resync must not send again.
			return nil, from, fmt.Errorf("sse/backplane/redis: events of %q after %q are no longer kept: %w", rooms[i], lastID, sse.ErrReplayMiss)
		}
		for _, xm := range ranges[i].Val() {
			m, err := fromStream(xm)
			if err != nil {
				return nil, 0, err
			}
			msgs = append(msgs, m)
		}
	}
	slices.SortFunc(msgs, func(a, b sse.Message) int { return cmp.Compare(a.Seq, b.Seq) })
	return msgs, from, nil
}

// resolve finds the position of a Last-Event-ID. A position of this
// dataset (from since-1, which a resync after a data loss hands out, to
// the counter) is taken as one when a stream holds a generated event at
// it; otherwise, and for any other id, the streams are searched for a
// caller's event with that id, and a position with no such event (an
// opening block's, a resync's) is taken as one after all. A caller's id
// found more than once is ambiguous: the client may have seen either.
func (bp *Backplane) resolve(ctx context.Context, keys []string, lastID string, st state) (uint64, bool, error) {
	pos, isPos := parsePos(lastID)
	isPos = isPos && pos+1 >= st.since && pos <= st.seq
	if isPos {
		pipe := bp.rdb.Pipeline()
		at := make([]*goredis.XMessageSliceCmd, len(keys))
		for i, k := range keys {
			at[i] = pipe.XRangeN(ctx, k, entryID(pos), entryID(pos), 1)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
			return 0, false, err
		}
		for _, c := range at {
			for _, xm := range c.Val() {
				if m, err := fromStream(xm); err == nil && m.ID == "" {
					return pos, true, nil
				}
			}
		}
	}
	found, n, err := bp.locate(ctx, keys, lastID)
	switch {
	case err != nil:
		return 0, false, err
	case n == 1:
		return found, true, nil
	case n > 1:
		return 0, false, nil
	}
	return pos, isPos, nil
}

// locate finds a caller's own id in the streams (history is bounded): the
// position of the event that has it, and how many events have it.
func (bp *Backplane) locate(ctx context.Context, keys []string, lastID string) (uint64, int, error) {
	pipe := bp.rdb.Pipeline()
	cmds := make([]*goredis.XMessageSliceCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.XRevRange(ctx, k, "+", "-")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return 0, 0, err
	}
	var pos uint64
	n := 0
	for _, c := range cmds {
		for _, xm := range c.Val() {
			m, err := fromStream(xm)
			if err != nil {
				return 0, 0, err
			}
			if m.ID == lastID {
				pos = m.Seq
				n++
			}
		}
	}
	return pos, n, nil
}

// fromStream decodes a stream entry, with its position.
func fromStream(xm goredis.XMessage) (sse.Message, error) {
	pos, ok := parseEntryID(xm.ID)
	raw, _ := xm.Values["m"].(string)
	if !ok || raw == "" {
		return sse.Message{}, errCorrupt
	}
	m, err := decode([]byte(raw))
	if err != nil {
		return m, err
	}
	m.Seq = pos
	return m, nil
}
