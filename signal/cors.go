package signal

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultCORSMaxAge is how long browsers may cache a preflight answer when
// [CORS.MaxAge] is zero.
const DefaultCORSMaxAge = 10 * time.Minute

// CORS configures cross-origin access, as moshpit's koa-cors did: the zero
// value lets pages from every origin open streams and post, and every
// answer carries Access-Control-Allow-Origin: *, also the answers to
// requests without an Origin header.
type CORS struct {
	// Disabled sends no CORS headers, so browsers refuse pages from
	// other origins.
	Disabled bool

	// Origins lists the origins allowed, such as "https://app.example";
	// the answer then names the request's origin and varies by it. A "*"
	// in the list, or an empty list, allows every origin.
	Origins []string

	// MaxAge is how long a browser may cache a preflight answer. Zero:
	// DefaultCORSMaxAge; negative: no Access-Control-Max-Age header.
	MaxAge time.Duration
}

// cors applies a validated CORS.
type cors struct {
	off     bool
	any     bool
	origins map[string]bool
	maxAge  string
}

func newCORS(c CORS) (*cors, error) {
	h := &cors{off: c.Disabled, any: len(c.Origins) == 0, origins: make(map[string]bool)}
	for _, o := range c.Origins {
		if o == "*" {
			h.any = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: CORS origin %q is not scheme://host[:port]", ErrInvalidConfig, o)
		}
		h.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	switch age := c.MaxAge; {
	case age == 0:
		h.maxAge = strconv.Itoa(int(DefaultCORSMaxAge / time.Second))
	case age > 0:
		h.maxAge = strconv.FormatInt(int64((age+time.Second-1)/time.Second), 10)
	}
	return h, nil
}

// handle sets the CORS headers of the answer to r and answers OPTIONS
// requests, preflights included; it reports whether it answered.
//
// Allowing every origin, every answer says "*", with an Origin header
// or without, as koa-cors did for moshpit. With a list, the answer
// names the origin if it is listed, and always varies by Origin, so that
// a cache does not hand one origin's answer (or the answer to a request
// without Origin) to another.
func (c *cors) handle(w http.ResponseWriter, r *http.Request) (answered bool) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	allowed := false
	if !c.off {
		if c.any {
			allowed = true
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Add("Vary", "Origin")
			if origin != "" && c.origins[strings.ToLower(origin)] {
				allowed = true
				h.Set("Access-Control-Allow-Origin", origin)
			}
		}
	}
	if r.Method != http.MethodOptions {
		return false
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if c.off || origin == "" || method == "" {
		h.Set("Allow", "GET, POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if !allowed || (method != http.MethodGet && method != http.MethodPost) {
		writeError(w, http.StatusForbidden, "cross-origin request not allowed")
		return true
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	if hdrs := r.Header.Values("Access-Control-Request-Headers"); len(hdrs) > 0 {
		// The server reads no credentials, so any header a page sends is
		// harmless: allow those asked for, as koa-cors did.
		h.Set("Access-Control-Allow-Headers", strings.Join(hdrs, ", "))
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if c.maxAge != "" {
		h.Set("Access-Control-Max-Age", c.maxAge)
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}
