package impl

import (
	"context"

	"github.com/roomcast/sse"
)

func init() { register("roomcast", newRoomcast) }

// roomcast adapts this repository's root package with its default limits.
// Heartbeats are off, as no peer sends them by default.
type roomcast struct{ *sse.Broker }

func newRoomcast(Options) (Impl, error) {
	b, err := sse.New(sse.Config{HeartbeatInterval: -1, LenientAccept: true})
	if err != nil {
		return nil, err
	}
	return roomcast{b}, nil
}

func (a roomcast) Publish(ctx context.Context, room string, data []byte) error {
	return a.Broker.Publish(ctx, room, sse.Event{Data: data})
}
