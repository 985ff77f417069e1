package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultBodyLimit is the largest POST body accepted when
// [Config.BodyLimit] is zero: 10 kB, as koa-signal had it.
const DefaultBodyLimit = 10 << 10

// post is a decoded POST body.
type post struct {
	data  json.RawMessage // compact JSON; nil when the body had no data
	token string
	cid   string // "" for the whole swarm
}

// httpError is an answer to a request that failed: a status and a short
// message.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(msg string) error { return &httpError{http.StatusBadRequest, msg} }

// readPost reads and decodes a POST body of at most limit bytes: JSON or
// an urlencoded form.
func readPost(w http.ResponseWriter, r *http.Request, limit int64) (post, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	form := mt == "application/x-www-form-urlencoded"
	if err != nil || !form && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return post{}, &httpError{http.StatusUnsupportedMediaType,
			"Content-Type must be application/json or application/x-www-form-urlencoded"}
	}
	tooLarge := &httpError{http.StatusRequestEntityTooLarge, "body larger than " + strconv.FormatInt(limit, 10) + " bytes"}
	if r.ContentLength > limit {
		return post{}, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return post{}, tooLarge
		}
		return post{}, badRequest("reading body: " + err.Error())
	}
	if form {
		return decodeForm(body)
	}
	return decodeJSON(body)
}

func decodeJSON(body []byte) (post, error) {
	if !utf8.Valid(body) {
		return post{}, badRequest("body is not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return post{}, badRequest("body is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return post{}, badRequest("body has data after the JSON object")
	}
	var p post
	for name, dst := range map[string]*string{"token": &p.token, "cid": &p.cid} {
		if raw, ok := fields[name]; ok && json.Unmarshal(raw, dst) != nil {
			return post{}, badRequest(name + " must be a string")
		}
	}
	if raw, ok := fields["data"]; ok {
		var buf bytes.Buffer
		_ = json.Compact(&buf, raw) // the decoder has checked it
		p.data = buf.Bytes()
	}
	return p, nil
}

func decodeForm(body []byte) (post, error) {
	fields, err := parseForm(string(body))
	if err != nil {
		return post{}, badRequest("malformed form: " + err.Error())
	}
	var p post
	for name, dst := range map[string]*string{"token": &p.token, "cid": &p.cid} {
		if v, ok := fields[name]; ok {
			s, isString := v.(string)
			if !isString {
				return post{}, badRequest(name + " must be a single value")
			}
			*dst = s
		}
	}
	if v, ok := fields["data"]; ok {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v) // strings, maps and slices always encode
		p.data = bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
	}
	return p, nil
}
