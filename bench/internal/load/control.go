package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roomcast/sse/bench/internal/procstat"
	"github.com/roomcast/sse/bench/internal/wire"
)

// control talks to an sse-bench-server's control endpoints.
type control struct {
	base   string
	prefix string
	rooms  int
	size   int
	hc     *http.Client
}

func newControl(cfg *Config) *control {
	return &control{
		base:   strings.TrimSuffix(cfg.Control, "/"),
		prefix: cfg.RoomPrefix,
		rooms:  cfg.Rooms,
		size:   cfg.Size,
		hc:     &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}},
	}
}

// publish asks for rounds rounds over the run's rooms, paced at rate
// rounds per second when rate > 0, none started after until unless it
// is zero.
func (c *control) publish(ctx context.Context, rounds int, rate float64, until time.Time) (wire.PublishResult, error) {
	q := url.Values{
		"rooms":  {strconv.Itoa(c.rooms)},
		"rounds": {strconv.Itoa(rounds)},
		"size":   {strconv.Itoa(c.size)},
		"prefix": {c.prefix},
	}
	if rate > 0 {
		q.Set("rate", strconv.FormatFloat(rate, 'g', -1, 64))
	}
	if !until.IsZero() {
		q.Set("until", strconv.FormatInt(until.UnixNano(), 10))
	}
	var res wire.PublishResult
	err := c.do(ctx, http.MethodPost, "/ctl/publish?"+q.Encode(), &res)
	if err == nil && res.Err != "" {
		err = fmt.Errorf("load: server publish: %s", res.Err)
	}
	return res, err
}

// stats reads the server's process statistics, after a GC when gc.
func (c *control) stats(ctx context.Context, gc bool) (procstat.Sample, error) {
	var s procstat.Sample
	path := "/ctl/stats"
	if gc {
		path += "?gc=1"
	}
	return s, c.do(ctx, http.MethodGet, path, &s)
}

// shutdown asks the server to shut its implementation down, and
// returns how long that took there.
func (c *control) shutdown(ctx context.Context) (wire.ShutdownResult, error) {
	var res wire.ShutdownResult
	err := c.do(ctx, http.MethodPost, "/ctl/shutdown", &res)
	if err == nil && res.Err != "" {
		err = fmt.Errorf("load: server shutdown: %s", res.Err)
	}
	return res, err
}

// profile saves a CPU profile of the next seconds to path.
func (c *control) profile(ctx context.Context, seconds int, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/debug/pprof/profile?seconds="+strconv.Itoa(seconds), nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("load: server profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("load: server profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *control) do(ctx context.Context, method, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("load: control %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("load: control %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (c *control) close() { c.hc.CloseIdleConnections() }
