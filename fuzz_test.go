package sse_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/sseread"
)

// FuzzEventEncode encodes an event, parses it back with the strict WHATWG
// parser and checks that exactly the fields that went in came out.
func FuzzEventEncode(f *testing.F) {
	f.Add("1", "update", "hello", int64(0), "")
	f.Add("", "", "a\r\nb\rc\nd\n", int64(1500), "note\nmore")
	f.Add("x\ny", "n", "d", int64(0), "")
	f.Add("", "bad\r", "d", int64(0), "")
	f.Add("nul\x00", "", "d", int64(-5), "")
	f.Add(" spaced", " name", " data", int64(1), ":colon")
	f.Add("\xff", "\xc3", "\xed\xa0\x80", int64(0), "\xff")
	f.Add(strings.Repeat("i", sse.MaxIDLen+1), "", "x", int64(0), "")
	f.Add("\ufeffid", "\ufeff", "\ufeffdata", int64(0), "\ufeff")
	f.Fuzz(func(t *testing.T, id, name, data string, retryMs int64, comment string) {
		ev := sse.Event{ID: id, Name: name, Data: data, Retry: time.Duration(retryMs) * time.Millisecond, Comment: comment}
		// An id must come back byte for byte in a Last-Event-ID header:
		// no control byte, no space at either end.
		idOK := strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0 &&
			strings.Trim(id, " ") == id
		valid := idOK && len(id) <= sse.MaxIDLen && utf8.ValidString(id) &&
			!strings.ContainsAny(name, "\r\n") && utf8.ValidString(name) && utf8.ValidString(data) && retryMs >= 0
		wire, err := ev.MarshalText()
		if err != nil {
			if !errors.Is(err, sse.ErrInvalidEvent) {
				t.Fatalf("error %v does not wrap ErrInvalidEvent", err)
			}
			if valid {
				t.Fatalf("valid event refused: %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("invalid event accepted: %q", wire)
		}
		var want []sseread.Item
		if comment != "" {
			for _, line := range splitLines(comment) {
				want = append(want, sseread.Item{Kind: sseread.KindComment, Comment: " " + line})
			}
		}
		if retryMs > 0 {
			want = append(want, sseread.Item{Kind: sseread.KindRetry, Retry: retryMs})
		}
		typ := name
		if typ == "" {
			typ = "message"
		}
		want = append(want, sseread.Item{Kind: sseread.KindEvent, Type: typ, Data: strings.Join(splitLines(data), "\n"), LastEventID: id})

		r := sseread.NewReader(bytes.NewReader(wire), 0)
		for i, w := range want {
			got, err := r.Next()
			if err != nil {
				t.Fatalf("item %d: %v in %q", i, err, wire)
			}
			if got != w {
				t.Fatalf("item %d: got %+v, want %+v, wire %q", i, got, w, wire)
			}
		}
		if extra, err := r.Next(); err != io.EOF {
			t.Fatalf("extra item %+v (%v) in %q", extra, err, wire)
		}
	})
}

// splitLines splits on CRLF, CR and LF, as the event stream format does.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}
