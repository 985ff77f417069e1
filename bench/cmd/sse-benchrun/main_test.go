package main

import (
	"io"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	if got := split(" a, b,,c "); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("split = %q", got)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-subs", "x"}, {"-impls", ""}, {"-repeat", "0"}, {"extra"}, {"-scenarios", "soak", "-out", t.TempDir()}} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
