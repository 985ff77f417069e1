package signal_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// preflight sends a CORS preflight for a POST from origin.
func preflight(t *testing.T, url, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, url, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func TestCORSAllOriginsByDefault(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	origin := http.Header{"Origin": {"https://app.example"}}
	s := ssetest.Open(t, nil, base+"/", origin)
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)
	assert.Equal(t, "*", s.Resp.Header.Get("Access-Control-Allow-Origin"))

	resp := preflight(t, base+"/AAAAAAAAAAAAAAAAAAAAAAAAAA", "https://app.example")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "GET, POST", resp.Header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "content-type", resp.Header.Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "600", resp.Header.Get("Access-Control-Max-Age"))

	// Error answers carry the header too, so a page can read them.
	code, _ := send(t, base+"/AAAAAAAAAAAAAAAAAAAAAAAAAA", "application/json", `{}`, origin)
	assert.Equal(t, http.StatusUnauthorized, code)
	req, err := http.NewRequest(http.MethodPost, base+"/AAAAAAAAAAAAAAAAAAAAAAAAAA", strings.NewReader(`{"token":"x","data":1}`))
	require.NoError(t, err)
	req.Header = origin.Clone()
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusNotFound, r.StatusCode)
	assert.Equal(t, "*", r.Header.Get("Access-Control-Allow-Origin"))
}

func TestCORSOriginList(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{CORS: signal.CORS{
		Origins: []string{"https://app.example", "http://localhost:8080"},
		MaxAge:  90 * time.Second,
	}})
	s := ssetest.Open(t, nil, base+"/", http.Header{"Origin": {"http://localhost:8080"}})
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)
	assert.Equal(t, "http://localhost:8080", s.Resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, s.Resp.Header.Values("Vary"), "Origin")

	s = ssetest.Open(t, nil, base+"/", http.Header{"Origin": {"https://evil.example"}})
	require.Equal(t, http.StatusOK, s.Resp.StatusCode, "CORS is not access control: the browser enforces it")
	assert.Empty(t, s.Resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, s.Resp.Header.Values("Vary"), "Origin")

	resp := preflight(t, base+"/", "https://APP.example")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "https://APP.example", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "90", resp.Header.Get("Access-Control-Max-Age"))

	resp = preflight(t, base+"/", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestCORSDisabled(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{CORS: signal.CORS{Disabled: true, MaxAge: -1}})
	s := ssetest.Open(t, nil, base+"/", http.Header{"Origin": {"https://app.example"}})
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)
	assert.Empty(t, s.Resp.Header.Get("Access-Control-Allow-Origin"))

	resp := preflight(t, base+"/", "https://app.example")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "GET, POST, OPTIONS", resp.Header.Get("Allow"))
}

func TestOptionsWithoutPreflight(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{CORS: signal.CORS{MaxAge: -1}})
	req, err := http.NewRequest(http.MethodOptions, base+"/", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "GET, POST, OPTIONS", resp.Header.Get("Allow"))

	resp = preflight(t, base+"/", "https://app.example")
	assert.Empty(t, resp.Header.Get("Access-Control-Max-Age"), "negative MaxAge sends none")
}

// TestCORSWithoutOrigin: allowing every origin, answers to requests
// without an Origin header say "*" too, as koa-cors's did; with a list
// they name no origin but still vary by Origin; disabled, nothing.
func TestCORSWithoutOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cors  signal.CORS
		allow string // the Access-Control-Allow-Origin expected
		vary  bool   // whether Vary names Origin
	}{
		{"every origin", signal.CORS{}, "*", false},
		{"a star in the list", signal.CORS{Origins: []string{"*"}}, "*", false},
		{"a list", signal.CORS{Origins: []string{"https://app.example"}}, "", true},
		{"disabled", signal.CORS{Disabled: true}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, base := newServer(t, signal.Config{CORS: tc.cors})
			check := func(what string, h http.Header) {
				t.Helper()
				assert.Equal(t, tc.allow, h.Get("Access-Control-Allow-Origin"), what)
				if tc.vary {
					assert.Contains(t, h.Values("Vary"), "Origin", what)
				} else {
					assert.NotContains(t, h.Values("Vary"), "Origin", what)
				}
			}
			s := get(t, base+"/", nil)
			require.Equal(t, http.StatusOK, s.StatusCode)
			check("a stream", s.Header)
			refused := get(t, base+"/", http.Header{"Accept": {"application/json"}})
			require.Equal(t, http.StatusNotAcceptable, refused.StatusCode)
			check("a 406", refused.Header)
			post, err := http.Post(base+"/AAAAAAAAAAAAAAAAAAAAAAAAAA", "application/json", strings.NewReader(`{"token":"x","data":1}`))
			require.NoError(t, err)
			post.Body.Close()
			require.Equal(t, http.StatusNotFound, post.StatusCode)
			check("a failed post", post.Header)
		})
	}
}
