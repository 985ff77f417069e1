package wire_test

import (
	"bytes"
	"testing"

	"github.com/roomcast/sse/bench/internal/wire"
)

func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		seq  uint64
		ts   int64
		size int
		want int
	}{
		{name: "benchmark size", seq: 7, ts: 1_700_000_000_123_456_789, size: 128, want: 128},
		{name: "zero", seq: 0, ts: 0, size: 128, want: 128},
		{name: "too small grows to MinSize", seq: 1, ts: 2, size: 3, want: wire.MinSize},
		{name: "largest values fit MinSize", seq: 9_999_999_999_999_999_999, ts: 999_999_999_999_999_999, size: wire.MinSize, want: wire.MinSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := wire.Encode(tt.seq, tt.ts, tt.size)
			if len(p) != tt.want {
				t.Fatalf("len = %d, want %d", len(p), tt.want)
			}
			if bytes.ContainsAny(p, "\r\n") {
				t.Fatalf("payload has a line break: %q", p)
			}
			seq, ts, ok := wire.Decode(p)
			if !ok || seq != tt.seq || ts != tt.ts {
				t.Fatalf("Decode = %d, %d, %v; want %d, %d, true", seq, ts, ok, tt.seq, tt.ts)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "hello", "12", "12 ", "12 34", "a1 2 ", "1 b2 ", " 1 2 ", "1  2 ", "12345678901234567890 1 "} {
		if _, _, ok := wire.Decode([]byte(p)); ok {
			t.Errorf("Decode(%q) ok, want rejected", p)
		}
	}
}
