package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPostBody decodes arbitrary POST bodies as JSON and as urlencoded
// forms. It checks that decoding never panics, that a refusal is a 400
// with a message, and that an accepted body gives compact, valid UTF-8
// JSON data and the token and cid that a plain decoding finds
// (encoding/json for JSON, net/url for forms whose keys have no
// brackets).
func FuzzPostBody(f *testing.F) {
	f.Add([]byte(`{"token":"T","cid":"C","data":{"a":[1,2,{"b":null}]}}`), false)
	f.Add([]byte(`{"token":"T","data":"\u2028<&>","data":1}`), false)
	f.Add([]byte(`{"token":1}`), false)
	f.Add([]byte(`{"data":`+strings.Repeat("[", 300)+strings.Repeat("]", 300)+`}`), false)
	f.Add([]byte("{\"data\":\"\xff\"}"), false)
	f.Add([]byte(`{} {}`), false)
	f.Add([]byte(`token=T&cid=C&data=hello`), true)
	f.Add([]byte(`token=T&data[a]=1&data[b][]=2&data[b][]=3&data[l][1]=y&data[l][0]=x`), true)
	f.Add([]byte(`token=T&token=U&data=1`), true)
	f.Add([]byte(`data=1&data[a]=2`), true)
	f.Add([]byte(`data[a][b][c][d][e][f][g]=deep&data[%5B]=x&=&&a`), true)
	f.Add([]byte(`data=%zz&token=%E2%82%AC&data%5Bk%5D=%FF`), true)
	f.Add([]byte(`data[21]=x&data[20]=y&data[-1]=z&data[01]=w`), true)
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		var p post
		var err error
		if form {
			p, err = decodeForm(body)
		} else {
			p, err = decodeJSON(body)
		}
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) || he.code != http.StatusBadRequest || he.msg == "" {
				t.Fatalf("error %#v is not a 400 with a message", err)
			}
			if !form {
				checkJSONRefusal(t, body)
			}
			return
		}
		if p.data != nil {
			if !json.Valid(p.data) || !utf8.Valid(p.data) {
				t.Fatalf("data %q is not valid JSON", p.data)
			}
			var compact bytes.Buffer
			_ = json.Compact(&compact, p.data)
			if !bytes.Equal(compact.Bytes(), p.data) {
				t.Fatalf("data %q is not compact", p.data)
			}
		}
		if form {
			checkFormAgrees(t, body, p)
		} else {
			checkJSONAgrees(t, body, p)
		}
	})
}

// checkJSONRefusal fails if encoding/json finds the body to be a JSON
// object whose token and cid (if present) are strings.
func checkJSONRefusal(t *testing.T, body []byte) {
	t.Helper()
	var fields map[string]json.RawMessage
	if !utf8.Valid(body) || json.Unmarshal(body, &fields) != nil || fields == nil {
		return
	}
	for _, name := range []string{"token", "cid"} {
		var s string
		if raw, ok := fields[name]; ok && json.Unmarshal(raw, &s) != nil {
			return
		}
	}
	t.Fatalf("refused a body encoding/json accepts: %q", body)
}

func checkJSONAgrees(t *testing.T, body []byte, p post) {
	t.Helper()
	var ref struct {
		Token *string         `json:"token"`
		CID   *string         `json:"cid"`
		Data  json.RawMessage `json:"data"`
	}
	// Unmarshal into a struct matches names case-insensitively; the
	// body's exact keys decide here, as in decodeJSON.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatalf("accepted a body encoding/json refuses (%v): %q", err, body)
	}
	for name, dst := range map[string]**string{"token": &ref.Token, "cid": &ref.CID} {
		if raw, ok := fields[name]; ok {
			*dst = new(string)
			if err := json.Unmarshal(raw, *dst); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	if got, want := p.token, deref(ref.Token); got != want {
		t.Fatalf("token %q, want %q", got, want)
	}
	if got, want := p.cid, deref(ref.CID); got != want {
		t.Fatalf("cid %q, want %q", got, want)
	}
	raw, ok := fields["data"]
	if ok != (p.data != nil) {
		t.Fatalf("data %q, but the body has data: %v", p.data, ok)
	}
	if ok {
		var want, got any
		_ = json.Unmarshal(raw, &want)
		_ = json.Unmarshal(p.data, &got)
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if !bytes.Equal(wj, gj) {
			t.Fatalf("data %s, want %s", p.data, raw)
		}
	}
}

// checkFormAgrees compares token, cid and flat data with net/url's
// decoding when no key has a bracket (qs-style nesting is form.go's own).
func checkFormAgrees(t *testing.T, body []byte, p post) {
	t.Helper()
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return // net/url is stricter about some escapes than qs
	}
	for k, vs := range vals {
		for _, v := range append(vs, k) {
			if !utf8.ValidString(v) {
				t.Fatalf("accepted a form with %q, which is not UTF-8", v)
			}
		}
	}
	for k := range vals {
		if strings.ContainsAny(k, "[]") {
			return
		}
	}
	for name, got := range map[string]string{"token": p.token, "cid": p.cid} {
		if vs := vals[name]; len(vs) > 1 || (len(vs) == 1 && vs[0] != got) || (len(vs) == 0 && got != "") {
			t.Fatalf("%s %q, net/url finds %q", name, got, vs)
		}
	}
	vs, ok := vals["data"]
	if ok != (p.data != nil) {
		t.Fatalf("data %q, net/url finds %q", p.data, vs)
	}
	if !ok {
		return
	}
	var want any = vs[0]
	if len(vs) > 1 {
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = v
		}
		want = l
	}
	var got any
	if err := json.Unmarshal(p.data, &got); err != nil {
		t.Fatal(err)
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Fatalf("data %s, net/url finds %q", p.data, vs)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
