package sseread

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzReader feeds arbitrary bytes to the Reader, whole or one byte per
// Read, and checks that it never panics, that every item keeps the
// standard's invariants, that it agrees item for item with refDecode (a
// direct transcription of the standard over the whole input), and that
// it stops with ErrLineTooLong exactly where a line passes the limit, or
// in skip mode (SetMaxEvent) reports KindTooLarge exactly where a block
// passes it.
func FuzzReader(f *testing.F) {
	f.Add([]byte("data: YHOO\ndata: +2\ndata: 10\n\n"), uint16(0), false, false)
	f.Add([]byte(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"), uint16(0), true, false)
	f.Add([]byte("event: a\rdata: 1\r\n\r\ndata: 2\r\r"), uint16(0), true, false)
	f.Add([]byte("\uFEFFdata: x\n\n\uFEFFdata: y\n\n"), uint16(0), false, false)
	f.Add([]byte("id: a\x00b\ndata: x\n\nretry: 10x\nretry: 99999999999999999999\nretry: 7\n\n"), uint16(0), false, false)
	f.Add([]byte("data\n\ndata\ndata\n\ndata:"), uint16(0), false, false)
	f.Add([]byte("data: "+strings.Repeat("x", 40)+"\n\n"), uint16(20), false, false)
	f.Add([]byte("data: ok\r"), uint16(8), true, false)
	f.Add([]byte("\r\n\r\n\n\r:\rid\revent\rdata\r\r"), uint16(3), true, false)
	f.Add([]byte("id: 1\ndata: "+strings.Repeat("x", 40)+"\ndata: y\nid: 2\n\ndata: z\n\n"), uint16(20), false, true)
	f.Add([]byte("data: 1234\ndata: 5678\nevent: big\n\n:"+strings.Repeat("c", 30)+"\ndata: ok\n\n"), uint16(16), true, true)
	f.Add([]byte("\uFEFFx\n\n\uFEFF\n\n"), uint16(2), false, true)
	f.Fuzz(func(t *testing.T, in []byte, maxLine uint16, oneByte, skip bool) {
		var src io.Reader = bytes.NewReader(in)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		r := NewReader(src, int(maxLine))
		if skip {
			r.SetMaxEvent(int(maxLine))
		}
		want, wantErr := refDecode(in, int(maxLine), skip)
		var got []Item
		var err error
		for {
			var it Item
			it, err = r.Next()
			if err != nil {
				break
			}
			checkItem(t, it)
			got = append(got, it)
			if len(got) > len(in) {
				t.Fatalf("more items (%d) than input bytes", len(got))
			}
		}
		if !errors.Is(err, wantErr) {
			t.Fatalf("error %v, want %v, input %q", err, wantErr, in)
		}
		if len(got) != len(want) {
			t.Fatalf("%d items, want %d\ngot  %+v\nwant %+v\ninput %q", len(got), len(want), got, want, in)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("item %d: got %+v, want %+v, input %q", i, got[i], want[i], in)
			}
		}
	})
}

// checkItem fails on an item no conforming stream can produce.
func checkItem(t *testing.T, it Item) {
	t.Helper()
	switch it.Kind {
	case KindEvent:
		if it.Type == "" || strings.ContainsAny(it.Type, "\r\n") {
			t.Fatalf("bad event type %q", it.Type)
		}
		if strings.ContainsRune(it.Data, '\r') {
			t.Fatalf("CR in data %q", it.Data)
		}
		if strings.ContainsAny(it.LastEventID, "\r\n\x00") {
			t.Fatalf("bad last event id %q", it.LastEventID)
		}
	case KindComment:
		if strings.ContainsAny(it.Comment, "\r\n") {
			t.Fatalf("line end in comment %q", it.Comment)
		}
	case KindRetry:
		if it.Retry < 0 {
			t.Fatalf("negative retry %d", it.Retry)
		}
	case KindTooLarge:
		if it.Type == "" || it.Data != "" {
			t.Fatalf("bad skipped block %+v", it)
		}
	default:
		t.Fatalf("unknown kind %d", it.Kind)
	}
}

// refDecode decodes a whole stream the plain way, for FuzzReader to
// compare with: strip one leading BOM, split into lines on CRLF, CR and
// LF, drop an unterminated last line, then interpret each line as the
// standard says. A line longer than maxLine bytes (zero: 16 MiB; a
// leading BOM counts) ends the decoding with ErrLineTooLong, even an
// unterminated one; otherwise the result ends with io.EOF. With skip, a
// too long line is dropped instead (and makes its block too large unless
// it is a comment), the lengths of each block's field lines add up, and a
// block whose sum passes maxLine gives one KindTooLarge item in place of
// its event.
func refDecode(in []byte, maxLine int, skip bool) ([]Item, error) {
	if maxLine <= 0 {
		maxLine = 16 << 20
	}
	s := string(in)
	var items []Item
	var data, typ, idBuf, lastID string
	hasData, tooLarge := false, false
	size := 0
	first := true
	for s != "" {
		end := strings.IndexAny(s, "\r\n")
		line := s
		if end >= 0 {
			line = s[:end]
		}
		tooLong := len(line) > maxLine
		if tooLong && !skip {
			return items, ErrLineTooLong
		}
		if end < 0 {
			break // unterminated: dropped
		}
		if s[end] == '\r' && end+1 < len(s) && s[end+1] == '\n' {
			end++
		}
		s = s[end+1:]
		if first {
			line = strings.TrimPrefix(line, "\uFEFF")
			first = false
		}
		if skip && line != "" && line[0] != ':' {
			size += len(line)
			if tooLong || size > maxLine {
				tooLarge, data, hasData = true, "", false
			}
		}
		if tooLong {
			continue
		}

		if line == "" { // dispatch
			lastID = idBuf
			size = 0
			if tooLarge {
				if typ == "" {
					typ = "message"
				}
				items = append(items, Item{Kind: KindTooLarge, Type: typ, LastEventID: lastID})
				data, typ, tooLarge = "", "", false
				continue
			}
			if hasData {
				if typ == "" {
					typ = "message"
				}
				items = append(items, Item{Kind: KindEvent, Type: typ, Data: strings.TrimSuffix(data, "\n"), LastEventID: lastID})
			}
			data, typ, hasData = "", "", false
			continue
		}
		if line[0] == ':' {
			items = append(items, Item{Kind: KindComment, Comment: line[1:]})
			continue
		}
		name, value := line, ""
		if i := strings.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			if value != "" && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch name {
		case "event":
			typ = value
		case "data":
			if !tooLarge {
				data += value + "\n"
				hasData = true
			}
		case "id":
			if strings.IndexByte(value, 0) < 0 {
				idBuf = value
			}
		case "retry":
			digits := value != ""
			for _, c := range []byte(value) {
				digits = digits && c >= '0' && c <= '9'
			}
			if n, err := strconv.ParseInt(value, 10, 64); digits && err == nil {
				items = append(items, Item{Kind: KindRetry, Retry: n})
			}
		}
	}
	return items, io.EOF
}
