package sseread_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/roomcast/sse/bench/internal/sseread"
	ref "github.com/roomcast/sse/internal/sseread"
)

// FuzzAgainstReference checks the Decoder against the repository's
// strict parser of the standard (internal/sseread at the root): the same
// events and comments, and for each event the start of its first data
// line, whatever the bytes and however the reads split them.
func FuzzAgainstReference(f *testing.F) {
	for _, seed := range []string{
		"data: 1 2 x\n\n: hb\n\ndata: 3\ndata: 4\n\n",
		"data:a\r\n\r\ndata:b\r\rdata: c\r\n\n",
		"\uFEFFdata: bom\n\n",
		"\xEFdata: half a mark\n\n",
		"id: 1\n\nevent: x\n\ndata\n\ndata\ndata\n\n",
		"database: no\ndata: " + strings.Repeat("y", 100) + "\n\n",
		"data: unterminated",
	} {
		f.Add([]byte(seed), uint8(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, split uint8) {
		var want []string
		comments := 0
		r := ref.NewReader(strings.NewReader(string(body)), 0)
		for {
			it, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("the reference refused the input: %v", err)
			}
			switch it.Kind {
			case ref.KindEvent:
				first, _, _ := strings.Cut(it.Data, "\n")
				want = append(want, first)
			case ref.KindComment:
				comments++
			}
		}

		var got []string
		d := &sseread.Decoder{Event: func(p []byte) { got = append(got, string(p)) }}
		in := append([]byte("HTTP/1.1 200 OK\r\n\r\n"), body...)
		n := max(1, int(split))
		for len(in) > 0 {
			k := min(n, len(in))
			if err := d.Feed(in[:k]); err != nil {
				t.Fatal(err)
			}
			in = in[k:]
		}
		if len(got) != len(want) || d.Comments != comments {
			t.Fatalf("%d events, %d comments; the reference: %d, %d\n%q", len(got), d.Comments, len(want), comments, body)
		}
		for i := range got {
			// The decoder keeps what lies in the line's first PrefixLen
			// bytes: "data:", perhaps a space, and the value's start.
			if !strings.HasPrefix(want[i], got[i]) || len(got[i]) < min(len(want[i]), sseread.PrefixLen-len("data: ")) {
				t.Fatalf("event %d: %q, the reference's first line %q", i, got[i], want[i])
			}
		}
	})
}
