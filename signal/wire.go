package signal

import (
	"bytes"
	"encoding/json"

	"github.com/roomcast/sse"
)

// Every event the server sends is exactly two lines, "event: NAME" and
// "data: JSON", ended by a blank line: the form koa-signal wrote, and
// the only one moshpit's client can read. That client splits the stream
// on blank lines, takes line 0 as the event's name and line 1 as its
// data, and of each line keeps the text between its first and second
// ": ". So the JSON is compact (one line, no space outside strings) and
// every ": " inside a string is written ":\u0020", which any JSON reader
// decodes as the same two characters.

// newEvent returns the event name with v's JSON as its data.
func newEvent(name string, v any) (sse.Event, error) {
	var raw []byte
	switch d := v.(type) {
	case json.RawMessage: // posted data, compacted by readPost
		raw = d
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return sse.Event{}, err
		}
	}
	return sse.Event{Name: name, Data: json.RawMessage(escapeColonSpace(raw))}, nil
}

// colonSpace is the separator moshpit's parser splits a line on.
var colonSpace = []byte(": ")

// escapeColonSpace writes every ": " of compact JSON as ":\u0020". In
// compact JSON a space can only be inside a string, where \u0020 is the
// same space; no escape sequence contains a colon or a space, so none is
// cut.
func escapeColonSpace(compact []byte) []byte {
	if !bytes.Contains(compact, colonSpace) {
		return compact
	}
	return bytes.ReplaceAll(compact, colonSpace, []byte(`:\u0020`))
}
