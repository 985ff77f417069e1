package signal_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFormFields posts forms as koa's body parser (qs) read them and
// checks the JSON each recipient gets.
func TestFormFields(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 0)
	tok := "token=" + url.QueryEscape(sw.initC.Token)
	for _, tc := range []struct{ form, want string }{
		{"data=hello", `"hello"`},
		{"data", `""`},
		{"data[greeting]=hello+world", `{"greeting":"hello world"}`},
		{"data%5Bgreeting%5D=escaped+brackets", `{"greeting":"escaped brackets"}`},
		{"data[a][b][c]=1&data[a][d]=2", `{"a":{"b":{"c":"1"},"d":"2"}}`},
		{"data[x]=%3Cb%3E%26%C3%A9", `{"x":"<b>&é"}`},
		{"data[e]=", `{"e":""}`},
		{"data=1&data=2", `["1","2"]`},
		{"data[]=solo", `["solo"]`},
		{"data[l][]=1&data[l][]=2", `{"l":["1","2"]}`},
		{"data[l][1]=b&data[l][0]=a", `{"l":["a","b"]}`},
		{"data[l][7]=b&data[l][3]=a", `{"l":["a","b"]}`}, // sparse indices close up
		{"data[l][0][k]=1&data[l][0][m]=2", `{"l":[{"k":"1","m":"2"}]}`},
		{"data[l][][k]=1&data[l][][k]=2", `{"l":[{"k":"1"},{"k":"2"}]}`},
		{"data[21]=x&data[y]=z", `{"21":"x","y":"z"}`}, // past 20 an index is a key
		{"data[a][b][c][d][e][f]=deep", `{"a":{"b":{"c":{"d":{"e":{"[f]":"deep"}}}}}}`},
		{"data=x&odd[key=1&&", `"x"`},
	} {
		t.Run(tc.form, func(t *testing.T) {
			code, body := send(t, sw.url(), "application/x-www-form-urlencoded", tok+"&"+tc.form, nil)
			require.Equal(t, http.StatusNoContent, code, body)
			assert.Equal(t, tc.want, signalData(t, sw.init))
		})
	}
}

// TestKoaSignalExample is koa-signal's README example: the initiator
// greets each peer that joins, by form.
func TestKoaSignalExample(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 1)
	form := url.Values{"token": {sw.initC.Token}, "data[greeting]": {"hello " + sw.conns[0].CID}}
	code, body := send(t, sw.url(), "application/x-www-form-urlencoded", form.Encode(), nil)
	require.Equal(t, http.StatusNoContent, code, body)
	assert.JSONEq(t, `{"greeting":"hello `+sw.conns[0].CID+`"}`, signalData(t, sw.peers[0]))

	// cid works in a form too.
	form = url.Values{"token": {sw.conns[0].Token}, "cid": {sw.initC.CID}, "data": {"direct"}}
	code, body = send(t, sw.url(), "application/x-www-form-urlencoded", form.Encode(), nil)
	require.Equal(t, http.StatusNoContent, code, body)
	assert.Equal(t, `{"greeting":"hello `+sw.conns[0].CID+`"}`, signalData(t, sw.init))
	assert.Equal(t, `"direct"`, signalData(t, sw.init))
}

func TestFormLimits(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{BodyLimit: 1 << 20})
	sw := newSwarm(t, base, 0)
	form := "token=" + url.QueryEscape(sw.initC.Token) + "&data=x"
	for range 1000 {
		form += "&f=1"
	}
	code, body := send(t, sw.url(), "application/x-www-form-urlencoded", form, nil)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, errorMessage(t, body), "1000 fields")
}
