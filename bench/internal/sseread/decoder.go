// Package sseread decodes the raw bytes of an HTTP/1.x response that
// carries a text/event-stream, as a load generator reads them from a TCP
// socket: status line and headers, then the body (chunked or not), then
// the event stream's lines.
//
// It is built to be cheap per byte and per event rather than complete: it
// keeps only the first PrefixLen bytes of each event's first data line,
// which is all a benchmark needs to check sequence numbers and latency,
// and it allocates nothing once the headers are read.
package sseread

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// PrefixLen is how much of each line the [Decoder] keeps: an event's
// first data line is cut to its first PrefixLen bytes, field name
// included.
const PrefixLen = 64

// maxHeader bounds the response head the decoder will buffer.
const maxHeader = 16 << 10

// Errors returned by [Decoder.Feed].
var (
	ErrHeaderTooLarge = errors.New("sseread: response header too large")
	ErrBadResponse    = errors.New("sseread: malformed HTTP response")
	ErrBadChunk       = errors.New("sseread: malformed chunked encoding")
)

// StatusError is returned by [Decoder.Feed] when the response status is
// not 200.
type StatusError struct {
	Code int
	Line string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("sseread: response status %d (%q)", e.Code, e.Line)
}

// chunk decoder states.
const (
	csSize    = iota // hex digits of a chunk size
	csExt            // chunk extension, up to LF
	csData           // chunk payload
	csDataEnd        // CRLF after a payload
	csTrailer        // after the last chunk: trailer lines, ignored
)

// Decoder is a streaming parser for one response. The zero value is ready
// for a response's first byte; set Event before calling Feed. A Decoder is
// not safe for concurrent use.
type Decoder struct {
	// Event is called for each dispatched event (one with at least one
	// data field) with the value of its first data field as far as it
	// lies in the line's first PrefixLen bytes. The slice is valid only
	// during the call.
	Event func(data []byte)

	// Comments counts comment lines (": ..."), such as heartbeats.
	Comments int

	head    []byte // response head, until it is complete
	inBody  bool
	chunked bool

	cstate int
	remain int64 // bytes left in the current chunk, or its size while parsed

	partial    bool // a line has started but not ended
	partialLen int  // its length so far
	line       [PrefixLen]byte
	skipLF     bool // the last line ended with CR; a following LF belongs to it

	hasData bool
	first   [PrefixLen]byte
	firstN  int

	bom int // bytes of a leading U+FEFF matched so far; -1 once past it
}

// bomBytes is the byte order mark a stream may start with, which the
// standard says to skip.
const bomBytes = "\xEF\xBB\xBF"

// Started reports whether the response head has been read.
func (d *Decoder) Started() bool { return d.inBody }

// Ended reports whether a chunked body's last chunk has been read: the
// server ended the stream, though it may keep the connection open for
// another request.
func (d *Decoder) Ended() bool { return d.chunked && d.cstate == csTrailer }

// Feed parses the next bytes read from the connection. It returns an
// error for a malformed or non-200 response, after which the Decoder must
// not be used again.
func (d *Decoder) Feed(b []byte) error {
	if !d.inBody {
		var err error
		if b, err = d.feedHead(b); err != nil || b == nil {
			return err
		}
	}
	if !d.chunked {
		d.feedLines(b)
		return nil
	}
	return d.feedChunked(b)
}

// feedHead buffers the response head; once complete it returns the bytes
// that follow it (possibly empty, never nil), else nil.
func (d *Decoder) feedHead(b []byte) ([]byte, error) {
	start := max(len(d.head)-3, 0)
	d.head = append(d.head, b...)
	i := bytes.Index(d.head[start:], []byte("\r\n\r\n"))
	if i < 0 {
		if len(d.head) > maxHeader {
			return nil, ErrHeaderTooLarge
		}
		return nil, nil
	}
	end := start + i + 4
	if err := d.parseHead(d.head[:end]); err != nil {
		return nil, err
	}
	rest := d.head[end:] // not nil: d.head is not
	d.head = nil
	d.inBody = true
	return rest, nil
}

func (d *Decoder) parseHead(h []byte) error {
	lines := bytes.Split(h[:len(h)-4], []byte("\r\n"))
	status := lines[0]
	if !bytes.HasPrefix(status, []byte("HTTP/1.")) || len(status) < 12 {
		return ErrBadResponse
	}
	code, err := strconv.Atoi(string(status[9:12]))
	if err != nil {
		return ErrBadResponse
	}
	if code != 200 {
		return &StatusError{Code: code, Line: string(status)}
	}
	for _, l := range lines[1:] {
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			return ErrBadResponse
		}
		if bytes.EqualFold(bytes.TrimSpace(name), []byte("Transfer-Encoding")) &&
			bytes.Contains(bytes.ToLower(value), []byte("chunked")) {
			d.chunked = true
		}
	}
	return nil
}

// feedChunked removes chunked transfer framing and passes the payload on.
func (d *Decoder) feedChunked(b []byte) error {
	for len(b) > 0 {
		switch d.cstate {
		case csData:
			n := int(min(d.remain, int64(len(b))))
			d.feedLines(b[:n])
			b = b[n:]
			d.remain -= int64(n)
			if d.remain == 0 {
				d.cstate = csDataEnd
			}
		case csDataEnd:
			c := b[0]
			b = b[1:]
			switch c {
			case '\r':
			case '\n':
				d.cstate, d.remain = csSize, 0
			default:
				return ErrBadChunk
			}
		case csSize:
			c := b[0]
			b = b[1:]
			switch {
			case c >= '0' && c <= '9':
				d.remain = d.remain<<4 | int64(c-'0')
			case c >= 'a' && c <= 'f':
				d.remain = d.remain<<4 | int64(c-'a'+10)
			case c >= 'A' && c <= 'F':
				d.remain = d.remain<<4 | int64(c-'A'+10)
			case c == ';' || c == ' ' || c == '\t':
				d.cstate = csExt
			case c == '\r':
			case c == '\n':
				d.endSizeLine()
			default:
				return ErrBadChunk
			}
			if d.remain > 1<<40 {
				return ErrBadChunk
			}
		case csExt:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				return nil
			}
			b = b[i+1:]
			d.endSizeLine()
		case csTrailer:
			return nil
		}
	}
	return nil
}

func (d *Decoder) endSizeLine() {
	if d.remain == 0 {
		d.cstate = csTrailer
		return
	}
	d.cstate = csData
}

// feedLines splits event-stream bytes into lines (ended by CRLF, LF or
// CR) and handles each.
func (d *Decoder) feedLines(b []byte) {
	for d.bom >= 0 && len(b) > 0 {
		if b[0] != bomBytes[d.bom] {
			// Not a mark after all: what matched of it is data.
			part := bomBytes[:d.bom]
			d.bom = -1
			d.feedLines([]byte(part))
			break
		}
		b = b[1:]
		if d.bom++; d.bom == len(bomBytes) {
			d.bom = -1
		}
	}
	if len(b) == 0 {
		return
	}
	if d.skipLF {
		d.skipLF = false
		if b[0] == '\n' {
			b = b[1:]
		}
	}
	// Most servers end lines with LF alone: look for CR only where the
	// bytes hold one.
	hasCR := bytes.IndexByte(b, '\r') >= 0
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if hasCR {
			limit := b
			if i >= 0 {
				limit = b[:i]
			}
			if j := bytes.IndexByte(limit, '\r'); j >= 0 {
				i = j
			}
		}
		if i < 0 {
			d.keepPartial(b)
			return
		}
		d.endLine(b[:i])
		if b[i] == '\r' {
			if i+1 == len(b) {
				d.skipLF = true
				return
			}
			if b[i+1] == '\n' {
				i++
			}
		}
		b = b[i+1:]
	}
}

// keepPartial remembers the start of a line that continues in the next
// bytes.
func (d *Decoder) keepPartial(b []byte) {
	if d.partialLen < PrefixLen {
		copy(d.line[d.partialLen:], b)
	}
	d.partial = true
	d.partialLen += len(b)
}

// endLine handles a complete line, of which b is the part in the current
// bytes.
func (d *Decoder) endLine(b []byte) {
	if d.partial {
		if d.partialLen < PrefixLen {
			copy(d.line[d.partialLen:], b)
		}
		n := d.partialLen + len(b)
		d.partial, d.partialLen = false, 0
		d.handleLine(d.line[:min(n, PrefixLen)], n)
		return
	}
	d.handleLine(b, len(b))
}

// handleLine applies one line; b holds at most its first PrefixLen bytes
// and n is its full length.
func (d *Decoder) handleLine(b []byte, n int) {
	b = b[:min(len(b), PrefixLen)]
	if n == 0 {
		if d.hasData {
			d.hasData = false
			if d.Event != nil {
				d.Event(d.first[:d.firstN])
			}
		}
		return
	}
	if b[0] == ':' {
		d.Comments++
		return
	}
	if d.hasData || !bytes.HasPrefix(b, []byte("data")) || (len(b) > 4 && b[4] != ':') {
		return
	}
	v := b[4:]
	if len(v) > 0 {
		v = v[1:] // the colon
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
	}
	d.hasData = true
	d.firstN = copy(d.first[:], v)
}
