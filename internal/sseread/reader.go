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
	started bool
	skipLF  bool

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
		line, err := r.line()
		if err != nil {
			return Item{}, err
		}
		r.process(line)
	}
}

// line reads one line ending in CRLF, LF or CR, without its ending. A CR
// is taken as a line end at once; an LF right after it is skipped when it
// arrives, so a stream ending lines in CR alone never waits for a byte.
func (r *Reader) line() (string, error) {
	var acc []byte
	for {
		if _, err := r.r.Peek(1); err != nil {
			if err == io.EOF && len(acc) > 0 {
				// An unterminated last line is dropped with the
				// incomplete event.
				return "", io.EOF
			}
			return "", err
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
		if i < 0 {
			if len(acc)+len(chunk) > r.max {
				return "", ErrLineTooLong
			}
			acc = append(acc, chunk...)
			_, _ = r.r.Discard(len(chunk))
			continue
		}
		if len(acc)+i > r.max {
			return "", ErrLineTooLong
		}
		acc = append(acc, chunk[:i]...)
		r.skipLF = chunk[i] == '\r'
		_, _ = r.r.Discard(i + 1)
		return r.text(acc), nil
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

func (r *Reader) dispatch() {
	r.lastID = r.idBuf
	sawID := r.sawID
	r.sawID = false
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
