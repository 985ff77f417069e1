package redis

import (
	"encoding/binary"
	"errors"

	"github.com/roomcast/sse"
)

// The wire form of a message, in streams and on the channel: a version
// byte, the kind, then room, client, filter, arg, id and event, each as a
// uvarint length and its bytes. The id is the caller's; a kept message's
// stream id travels beside it.
const codecVersion = 1

var errCorrupt = errors.New("sse/backplane/redis: corrupt message")

func encode(m *sse.Message) []byte {
	n := 2 + len(m.Room) + len(m.Client) + len(m.Filter) + len(m.Arg) + len(m.ID) + len(m.Event) + 6*binary.MaxVarintLen32
	p := make([]byte, 0, n)
	p = append(p, codecVersion, byte(m.Kind))
	for _, f := range [...]string{m.Room, m.Client, m.Filter, m.Arg, m.ID} {
		p = binary.AppendUvarint(p, uint64(len(f)))
		p = append(p, f...)
	}
	p = binary.AppendUvarint(p, uint64(len(m.Event)))
	return append(p, m.Event...)
}

func decode(p []byte) (sse.Message, error) {
	var m sse.Message
	if len(p) < 2 || p[0] != codecVersion {
		return m, errCorrupt
	}
	m.Kind = sse.MessageKind(p[1])
	p = p[2:]
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return nil, false
		}
		f := p[k : k+int(n)]
		p = p[k+int(n):]
		return f, true
	}
	var ok bool
	for _, dst := range [...]*string{&m.Room, &m.Client, &m.Filter, &m.Arg, &m.ID} {
		var f []byte
		if f, ok = field(); !ok {
			return m, errCorrupt
		}
		*dst = string(f)
	}
	if m.Event, ok = field(); !ok || len(p) != 0 {
		return m, errCorrupt
	}
	return m, nil
}
