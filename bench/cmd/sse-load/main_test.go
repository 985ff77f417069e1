package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSources(t *testing.T) {
	t.Parallel()
	got, err := parseSources("127.0.0.1-3, ::1,10.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "::1", "10.0.0.9"}
	if !slices.EqualFunc(got, want, func(ip net.IP, s string) bool { return ip.Equal(net.ParseIP(s)) }) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"localhost", "127.0.0.5-2", "127.0.0.1-300", "::1-4"} {
		if _, err := parseSources(bad); err == nil {
			t.Errorf("parseSources(%q) succeeded", bad)
		}
	}
}

func TestRunObserve(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Token") != "s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: hello\n\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer ts.Close()
	path := filepath.Join(t.TempDir(), "r.json")
	var stdout strings.Builder
	err := run(t.Context(), []string{"-url", ts.URL + "/{room}", "-c", "3", "-d", "100ms", "-H", "X-Token: s3cret",
		"-json", path, "-progress", "0"}, &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "| streams | 3 over 1 rooms: 3 open") {
		t.Fatalf("markdown: %s", stdout.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Deliveries int }
	if err := json.Unmarshal(b, &res); err != nil || res.Deliveries != 3 {
		t.Fatalf("json %s: %v", b, err)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"-url", "http://x/", "extra"}, {"-url", "http://x/", "-src", "nope"}, {"-url", "http://x/", "-mode", "idle"}} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
