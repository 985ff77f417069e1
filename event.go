package sse

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one Server-Sent Event. The zero value is not sendable: at least
// one field must be set.
//
// An Event is a plain value: the broker encodes it once per publish and
// never modifies it, so the same Event may be published concurrently.
//
// Encoding follows the WHATWG "server-sent events" format:
//   - ID becomes an "id:" field. It comes back in the Last-Event-ID
//     header of a reconnection, so it must survive that trip byte for
//     byte: no line break, no control character (NUL, tab, DEL...), no
//     leading or trailing space, at most [MaxIDLen] bytes.
//   - Name becomes an "event:" field. It must not contain CR or LF.
//   - Data: a string or []byte is sent as text, split on CRLF, CR and LF
//     into one "data:" line each, so the receiver sees exactly the same
//     text; [json.RawMessage] is sent as is; any other value is sent as
//     one line of JSON. A nil Data with a Name sends an empty data line,
//     so the named event is still dispatched.
//   - ID, Name and text Data must be valid UTF-8: the stream is decoded
//     as UTF-8, and a browser would turn invalid bytes into U+FFFD, so
//     the receiver would not see what was sent, nor send the same ID
//     back.
//   - Retry, when positive, becomes a "retry:" field in whole
//     milliseconds (rounded up).
//   - Comment becomes one comment line per line of text.
type Event struct {
	ID      string
	Name    string
	Data    any
	Retry   time.Duration
	Comment string
}

// NewEvent returns an Event with the given name and data, or an
// [*EventError] if the name cannot be sent.
func NewEvent(name string, data any) (Event, error) {
	ev := Event{Name: name, Data: data}
	if err := checkName(name); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// MustEvent is like [NewEvent] but panics on an invalid name. It is meant
// for names that are constants in the program.
func MustEvent(name string, data any) Event {
	ev, err := NewEvent(name, data)
	if err != nil {
		panic(err)
	}
	return ev
}

// Validate reports whether the event can be encoded, returning an
// [*EventError] when it cannot.
func (e Event) Validate() error {
	_, err := e.appendBody(nil)
	if err != nil {
		return err
	}
	return checkID(e.ID)
}

// MarshalText returns the event's wire encoding, terminated by the blank
// line that dispatches it.
func (e Event) MarshalText() ([]byte, error) {
	if err := checkID(e.ID); err != nil {
		return nil, err
	}
	var dst []byte
	if e.ID != "" {
		dst = appendID(dst, e.ID)
	}
	return e.appendBody(dst)
}

// sizeHint guesses the encoded size, so that encoding allocates once in
// the common case.
func (e *Event) sizeHint() int {
	n := 48 + len(e.ID) + len(e.Name) + len(e.Comment)
	switch d := e.Data.(type) {
	case string:
		n += len(d)
	case []byte:
		n += len(d)
	case json.RawMessage:
		n += len(d)
	}
	return n
}

// checkID refuses an id that would not come back byte for byte in the
// Last-Event-ID header of a reconnection: a line break or NUL would break
// the field itself, net/http refuses a header with any other control byte
// (400, after which EventSource gives up for good), and it trims leading
// and trailing spaces, so the broker would look up another id.
func checkID(id string) error {
	switch {
	case strings.ContainsAny(id, "\r\n"):
		return &EventError{Field: "id", Reason: "contains a line break"}
	case strings.IndexFunc(id, isControl) >= 0:
		return &EventError{Field: "id", Reason: "contains a control character (NUL, tab, DEL...), which cannot travel back in a Last-Event-ID header"}
	case id != strings.Trim(id, " "):
		return &EventError{Field: "id", Reason: "starts or ends with a space, which a Last-Event-ID header would lose"}
	case len(id) > MaxIDLen:
		return &EventError{Field: "id", Reason: "is longer than MaxIDLen (" + strconv.Itoa(MaxIDLen) + " bytes)"}
	case !utf8.ValidString(id):
		return &EventError{Field: "id", Reason: "is not valid UTF-8"}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func checkName(name string) error {
	switch {
	case strings.ContainsAny(name, "\r\n"):
		return &EventError{Field: "name", Reason: "contains a line break"}
	case !utf8.ValidString(name):
		return &EventError{Field: "name", Reason: "is not valid UTF-8"}
	}
	return nil
}

func errDataUTF8() error { return &EventError{Field: "data", Reason: "is not valid UTF-8"} }

func appendID(dst []byte, id string) []byte {
	dst = append(dst, "id: "...)
	dst = append(dst, id...)
	return append(dst, '\n')
}

// appendBody appends every field but the id, then the blank line.
func (e *Event) appendBody(dst []byte) ([]byte, error) {
	if err := checkName(e.Name); err != nil {
		return nil, err
	}
	if e.Retry < 0 {
		return nil, &EventError{Field: "retry", Reason: "is negative"}
	}
	if e.ID == "" && e.Name == "" && e.Data == nil && e.Retry == 0 && e.Comment == "" {
		return nil, &EventError{Reason: "has no field set"}
	}
	if e.Comment != "" {
		dst = appendLines(dst, ": ", e.Comment)
	}
	if e.Retry > 0 {
		dst = appendRetry(dst, e.Retry)
	}
	if e.Name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, e.Name...)
		dst = append(dst, '\n')
	}
	switch d := e.Data.(type) {
	case nil:
		if e.Name != "" {
			dst = append(dst, "data: \n"...)
		}
	case string:
		if !utf8.ValidString(d) {
			return nil, errDataUTF8()
		}
		dst = appendLines(dst, "data: ", d)
	case []byte:
		if !utf8.Valid(d) {
			return nil, errDataUTF8()
		}
		dst = appendLines(dst, "data: ", d)
	case json.RawMessage:
		if !utf8.Valid(d) {
			return nil, errDataUTF8()
		}
		dst = appendLines(dst, "data: ", d)
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			return nil, &EventError{Field: "data", Reason: "cannot be encoded as JSON: " + err.Error()}
		}
		dst = appendLines(dst, "data: ", bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}))
	}
	return append(dst, '\n'), nil
}

func appendRetry(dst []byte, d time.Duration) []byte {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, int64(ms), 10)
	return append(dst, '\n')
}

// appendLines writes s as one prefixed line per line of text, breaking on
// CRLF, CR and LF.
func appendLines[T ~string | ~[]byte](dst []byte, prefix string, s T) []byte {
	for {
		i := indexEOL(s)
		dst = append(dst, prefix...)
		if i < 0 {
			dst = append(dst, s...)
			return append(dst, '\n')
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, '\n')
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}

func indexEOL[T ~string | ~[]byte](s T) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			return i
		}
	}
	return -1
}
