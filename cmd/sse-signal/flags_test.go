package main

import (
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want options
	}{
		{"defaults", nil, options{port: 5000}},
		{"short", []string{"-p", "8080", "-u", "nobody", "-g", "nogroup"}, options{port: 8080, uid: "nobody", gid: "nogroup"}},
		{"long", []string{"--port=0", "--host", "127.0.0.1", "--uid", "1000", "--gid=1000"}, options{host: "127.0.0.1", uid: "1000", gid: "1000"}},
		{"help", []string{"-h"}, options{port: 5000, help: true}},
		{"help long", []string{"--help"}, options{port: 5000, help: true}},
		{"version", []string{"-V"}, options{port: 5000, version: true}},
		{"version long", []string{"--version"}, options{port: 5000, version: true}},
		{"limits", []string{"--limit", "1mb", "--max-swarms", "10", "--max-peers", "4", "--max-failed-auth", "20"},
			options{port: 5000, cfg: signal.Config{BodyLimit: 1 << 20, MaxSwarms: 10, MaxPeers: 4, FailedAuthLimit: 20}}},
		{"origins", []string{"--cors-origin", "https://a.example, https://b.example", "--cors-origin=http://c.example"},
			options{port: 5000, cfg: signal.Config{CORS: signal.CORS{Origins: []string{"https://a.example", "https://b.example", "http://c.example"}}}}},
		{"no CORS", []string{"--cors-origin", "none"}, options{port: 5000, cfg: signal.Config{CORS: signal.CORS{Disabled: true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseArgs(tc.args)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--bogus"},
		{"extra"},
		{"-p"},
		{"-p", "http"},
		{"-p", "65536"},
		{"--port", "-1"},
		{"--limit", "lots"},
		{"--limit", "0"},
		{"--max-peers", "-2"},
		{"--max-failed-auth", "-1"},
	} {
		_, err := parseArgs(args)
		assert.ErrorIs(t, err, errUsage, "%q", args)
		assert.Equal(t, 2, exitCode(err))
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"1": 1, "512b": 512, "10kb": 10 << 10, "10KB": 10 << 10, " 2 mb ": 2 << 20, "1gb": 1 << 30,
	} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "kb", "-1kb", "1.5mb", "10tb", "9223372036854775807kb"} {
		_, err := parseSize(in)
		assert.Error(t, err, in)
	}
}

func TestVersionString(t *testing.T) {
	assert.NotEmpty(t, versionString())
	old := version
	t.Cleanup(func() { version = old })
	version = "v9.9.9"
	assert.Equal(t, "v9.9.9", versionString())
}
