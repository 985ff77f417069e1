package redis

import (
	"testing"

	"github.com/roomcast/sse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	for _, m := range []sse.Message{
		{Kind: sse.KindRoom, Room: "r", Event: []byte("data: x\n\n")},
		{Kind: sse.KindClient, Client: "c1", ID: "7", Event: []byte("data: \n\n")},
		{Kind: sse.KindFilter, Filter: "user", Arg: "ann\n", Event: []byte("data: y\n\n"), Keep: false},
		{Kind: sse.KindCloseRoom, Room: "a/b"},
	} {
		got, err := decode(encode(&m))
		require.NoError(t, err)
		if len(m.Event) == 0 {
			m.Event = got.Event[:0]
		}
		assert.Equal(t, m, got)
	}
	for _, bad := range [][]byte{nil, {9, 1}, {codecVersion, 1, 200}, append(encode(&sse.Message{Kind: sse.KindAll}), 0)} {
		_, err := decode(bad)
		assert.ErrorIs(t, err, errCorrupt)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(&sse.Message{Kind: sse.KindRoom, Room: "r", ID: "1", Event: []byte("data: x\n\n")}))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := decode(p)
		if err != nil {
			return
		}
		again, err := decode(encode(&m))
		require.NoError(t, err)
		assert.Equal(t, m.Room, again.Room)
		assert.Equal(t, string(m.Event), string(again.Event))
	})
}
