// Package sseread decodes a text/event-stream exactly as the WHATWG HTML
// standard's event stream interpretation does. It is shared by the signal
// client and by the tests, which use it as the strict reference parser.
package sseread

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Kind tells what an [Item] is.
type Kind int

const (
	// KindEvent is a dispatched event.
	KindEvent Kind = iota + 1
	// KindComment is a comment line (the text after the colon).
	KindComment
	// KindRetry is a valid retry field (Item.Retry in milliseconds).
	KindRetry
	// KindID is a block without data that had an id field: it set the
	// stream's last event ID (Item.LastEventID) without dispatching an
	// event. Only a Reader told to [Reader.ReportIDs] returns it.
	KindID
	// KindTooLarge stands for an event block skipped because it passed
	// the limit of [Reader.SetMaxEvent]: Type and LastEventID are set as
	// they would have been for the event; Data is empty.
	KindTooLarge
)

// Item is one thing read from the stream.
type Item struct {
	Kind        Kind
	Type        string // event type; "message" if none was given
	Data        string
	LastEventID string // the stream's last event ID when the event was dispatched
	Comment     string
	Retry       int64
	// HasID tells that the event's own block had an id field, rather than
	// inheriting the last event ID; set only by a Reader that ReportIDs.
	HasID bool
}

// ErrLineTooLong is returned for a line longer than the reader's limit.
var ErrLineTooLong = errors.New("sseread: line too long")

// Reader decodes an event stream. It is not safe for concurrent use.
type Reader struct {
	r       *bufio.Reader
	max     int
	skip    bool // SetMaxEvent: skip large blocks instead of failing
	started bool
	skipLF  bool

	size     int  // bytes of the current block's field lines (skip mode)
	tooLarge bool // the current block passed the limit (skip mode)

	lastID, idBuf, typ string
	data               strings.Builder
	hasData            bool
	pending            []Item

	reportIDs bool // return KindID items
	sawID     bool // the current block has an id field
}

// NewReader returns a Reader of r that refuses lines longer than maxLine
// bytes (zero: 16 MiB).
func NewReader(r io.Reader, maxLine int) *Reader {
	if maxLine <= 0 {
		maxLine = 16 << 20
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: maxLine}
}

// ReportIDs makes r return a [KindID] item for each block without data
// that has an id field, and starts the stream's last event ID at lastID,
// as EventSource carries it over from the connection before. Call it
// before the first Next.
func (r *Reader) ReportIDs(lastID string) {
	r.reportIDs = true
	r.lastID, r.idBuf = lastID, lastID
}

// SetMaxEvent makes r skip, rather than fail on, anything larger than n
// bytes (zero or negative: 16 MiB), which then also replaces the line
// limit of [NewReader]. The size of an event block is the sum of the
// lengths of its field lines (comments excluded, line ends not counted).
// A block larger than n is not dispatched: at
// its blank line the reader returns an item of [KindTooLarge] instead,
// after processing the block's other fields as usual, so that an id in
// it still becomes the last event ID. A line longer than n (a leading
// BOM counts) is never held whole: its first bytes are kept, which tell
// its field, and the rest is discarded as it arrives; such a comment is
// dropped, and such a field line makes its block too large and has no
// other effect. Call
// SetMaxEvent before the first Next.
func (r *Reader) SetMaxEvent(n int) {
	if n <= 0 {
		n = 16 << 20
	}
	r.max, r.skip = n, true
}

// SetLastEventID starts the stream's last event ID (and its buffer) at
// id instead of the empty string, for a stream that resumes another:
// browsers carry the last event ID over to the stream they reconnect
// to, so that an event without an id there does not forget it. Call it
// before the first Next.
func (r *Reader) SetLastEventID(id string) { r.lastID, r.idBuf = id, id }

// LastEventID returns the stream's current last event ID.
func (r *Reader) LastEventID() string { return r.lastID }

// Next returns the next item. At the end of the stream it returns io.EOF;
// an event not yet terminated by a blank line is discarded, as the
// standard says.
func (r *Reader) Next() (Item, error) {
	for {
		if len(r.pending) > 0 {
			it := r.pending[0]
			r.pending = r.pending[1:]
			return it, nil
		}
		line, truncated, err := r.line()
		if err != nil {
			return Item{}, err
		}
		if r.skip {
			r.measure(line, truncated)
			if truncated {
				continue
			}
		}
		r.process(line)
	}
}

// line reads one line ending in CRLF, LF or CR, without its ending. A CR
// is taken as a line end at once; an LF right after it is skipped when it
// arrives, so a stream ending lines in CR alone never waits for a byte.
// A line longer than the limit is ErrLineTooLong or, in skip mode, cut to
// its first max+4 bytes and reported as truncated.
func (r *Reader) line() (line string, truncated bool, err error) {
	var acc []byte
	n := 0 // the line's length so far, kept or not
	for {
		if _, err := r.r.Peek(1); err != nil {
			if err == io.EOF && n > 0 {
				// An unterminated last line is dropped with the
				// incomplete event.
				return "", false, io.EOF
			}
			return "", false, err
		}
		chunk, _ := r.r.Peek(r.r.Buffered())
		if r.skipLF {
			r.skipLF = false
			if chunk[0] == '\n' {
				_, _ = r.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(chunk, "\r\n")
		part := chunk
		if i >= 0 {
			part = chunk[:i]
		}
		if n+len(part) > r.max && !r.skip {
			return "", false, ErrLineTooLong
		}
		if i >= 0 && n == 0 && len(part) <= r.max {
			// The common case, a whole line in the buffer: one copy.
			line := r.text(part)
			r.skipLF = chunk[i] == '\r'
			_, _ = r.r.Discard(i + 1)
			return line, false, nil
		}
		if keep := r.max + 4 - len(acc); keep > 0 { // 4: room for a BOM
			acc = append(acc, part[:min(keep, len(part))]...)
		}
		n += len(part)
		if i < 0 {
			_, _ = r.r.Discard(len(chunk))
			continue
		}
		r.skipLF = chunk[i] == '\r'
		_, _ = r.r.Discard(i + 1)
		return r.text(acc), n > r.max, nil
	}
}

func (r *Reader) text(b []byte) string {
	if !r.started {
		r.started = true
		b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	}
	return string(b)
}

func (r *Reader) process(line string) {
	if line == "" {
		r.dispatch()
		return
	}
	if line[0] == ':' {
		r.pending = append(r.pending, Item{Kind: KindComment, Comment: line[1:]})
		return
	}
	field, value, found := strings.Cut(line, ":")
	if found {
		value = strings.TrimPrefix(value, " ")
	}
	switch field {
	case "event":
		r.typ = value
	case "data":
		if r.tooLarge {
			return
		}
		r.data.WriteString(value)
		r.data.WriteByte('\n')
		r.hasData = true
	case "id":
		if !strings.ContainsRune(value, 0) {
			r.idBuf = value
			r.sawID = true
		}
	case "retry":
		if value != "" && strings.Trim(value, "0123456789") == "" {
			if ms, err := strconv.ParseInt(value, 10, 64); err == nil {
				r.pending = append(r.pending, Item{Kind: KindRetry, Retry: ms})
			}
		}
	}
}

// measure adds a line to the current block's size, in skip mode, and
// drops the block's data once it is too large.
func (r *Reader) measure(line string, truncated bool) {
	if line == "" || line[0] == ':' {
		return
	}
	r.size += len(line)
	if truncated || r.size > r.max {
		r.tooLarge = true
		r.data.Reset()
		r.hasData = false
	}
}

func (r *Reader) dispatch() {
	r.lastID = r.idBuf
	sawID := r.sawID
	r.sawID = false
	r.size = 0
	if r.tooLarge {
		typ := r.typ
		if typ == "" {
			typ = "message"
		}
		r.pending = append(r.pending, Item{Kind: KindTooLarge, Type: typ, LastEventID: r.lastID})
		r.tooLarge = false
		r.typ = ""
		return
	}
	if !r.hasData {
		r.typ = ""
		if r.reportIDs && sawID {
			r.pending = append(r.pending, Item{Kind: KindID, LastEventID: r.lastID})
		}
		return
	}
	data := strings.TrimSuffix(r.data.String(), "\n")
	typ := r.typ
	if typ == "" {
		typ = "message"
	}
	r.pending = append(r.pending, Item{Kind: KindEvent, Type: typ, Data: data, LastEventID: r.lastID, HasID: r.reportIDs && sawID})
	r.data.Reset()
	r.hasData = false
	r.typ = ""
}
