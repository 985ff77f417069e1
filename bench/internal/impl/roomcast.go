package impl

import (
	"context"

	"github.com/roomcast/sse"
)

func init() {
	register("roomcast", func(Options) (Impl, error) { return newRoomcast(false) })
	register("roomcast-dense", func(Options) (Impl, error) { return newRoomcast(true) })
}

// roomcast adapts this repository's root package with its default limits;
// roomcast-dense is the same with Config.Dense, which takes HTTP/1.1
// streams over from net/http. Heartbeats are off, as no peer sends them
// by default.
type roomcast struct{ *sse.Broker }

func newRoomcast(dense bool) (Impl, error) {
	b, err := sse.New(sse.Config{HeartbeatInterval: -1, LenientAccept: true, Dense: dense})
	if err != nil {
		return nil, err
	}
	return roomcast{b}, nil
}

func (a roomcast) Publish(ctx context.Context, room string, data []byte) error {
	return a.Broker.Publish(ctx, room, sse.Event{Data: data})
}
