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
	from, ok := parsePos(lastID)
	if !ok || from < st.since || from > st.seq {
		// Not a position of this dataset: perhaps a caller's own id.
		if from, ok, err = bp.locate(ctx, keys, lastID); err != nil {
			return nil, 0, err
		}
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
	st.now = uint64(clock.Val().UnixMicro())
	var msgs []sse.Message
	for i := range keys {
		if !bp.complete(st, from, trims[i], firsts[i].Val()) {
			return nil, 0, fmt.Errorf("sse/backplane/redis: events of %q after %q are no longer kept: %w", rooms[i], lastID, sse.ErrReplayMiss)
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

// complete reports whether every message of a stream after position from
// is still in it. Trimming records the newest position it removed; a
// stream that expired with MaxAge takes that record with it, but only
// once its last message is MaxAge old, so a stream that is missing, or
// that began after from, can have lost messages after from only if from
// itself is older than MaxAge.
func (bp *Backplane) complete(st state, from uint64, trim *goredis.StringCmd, first []goredis.XMessage) bool {
	if t, err := trim.Result(); err == nil {
		if tp, ok := parseEntryID(t); !ok || tp > from {
			return false
		}
	}
	age := uint64(bp.history.MaxAge.Microseconds())
	if age == 0 {
		return true
	}
	if len(first) > 0 {
		if fp, ok := parseEntryID(first[0].ID); ok && fp <= from {
			return true
		}
	}
	return from+age > st.now
}

// locate finds the position of a caller's own id, newest first (history
// is bounded).
func (bp *Backplane) locate(ctx context.Context, keys []string, lastID string) (uint64, bool, error) {
	var best uint64
	for _, k := range keys {
		xs, err := bp.rdb.XRevRange(ctx, k, "+", "-").Result()
		if err != nil {
			return 0, false, err
		}
		for _, xm := range xs {
			m, err := fromStream(xm)
			if err != nil {
				return 0, false, err
			}
			if m.ID == lastID {
				best = max(best, m.Seq)
				break
			}
		}
	}
	return best, best != 0, nil
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
