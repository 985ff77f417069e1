package signal

import (
	"mime"
	"strconv"
	"strings"
)

// acceptsEventStream reports whether a request with these Accept header
// values may be answered with an event stream, as koa's ctx.accepts
// decided for koa-signal: a request without an Accept header accepts
// every type (moshpit's client and the request module send none), and
// otherwise the most specific media range that matches text/event-stream
// (text/event-stream, then text/*, then */*) must have a quality above
// zero. A header whose ranges cannot be parsed accepts nothing.
//
// Every request admitted here is also admitted by the broker's
// Config.LenientAccept, so the broker never answers with its own 406.
func acceptsEventStream(values []string) bool {
	if len(values) == 0 {
		return true
	}
	best, quality := -1, 0.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			specificity := -1
			switch mt {
			case "*/*":
				specificity = 0
			case "text/*":
				specificity = 1
			case "text/event-stream":
				specificity = 2
			}
			if specificity < 0 {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(s, 64); err != nil {
					continue
				}
			}
			if specificity > best || (specificity == best && q > quality) {
				best, quality = specificity, q
			}
		}
	}
	return best >= 0 && quality > 0
}
