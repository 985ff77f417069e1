package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveIdentity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		uid, gid string
		want     identity
	}{
		{"", "", identity{-1, -1}},
		{"root", "", identity{0, 0}}, // the user's primary group
		{"0", "", identity{0, 0}},
		{"", "root", identity{-1, 0}},
		{"", "0", identity{-1, 0}},
		{"54321", "54322", identity{54321, 54322}}, // numbers need no entry
		{"root", "54322", identity{0, 54322}},
	} {
		got, err := resolveIdentity(tc.uid, tc.gid)
		require.NoError(t, err, "%q %q", tc.uid, tc.gid)
		assert.Equal(t, tc.want, got, "%q %q", tc.uid, tc.gid)
	}
	for _, tc := range []struct{ uid, gid, msg string }{
		{"no-such-user-here", "", "unknown user"},
		{"", "no-such-group-here", "unknown group"},
		{"54321", "", "give --gid too"},
	} {
		_, err := resolveIdentity(tc.uid, tc.gid)
		assert.ErrorContains(t, err, tc.msg)
		assert.ErrorIs(t, err, errUsage, "a bad --uid or --gid is a bad command line: exit 2")
	}
}

// TestDropPrivileges switches to the identity the process has already:
// as root that runs every call; otherwise setgid to another group fails,
// which is the error path.
func TestDropPrivileges(t *testing.T) {
	if os.Geteuid() == 0 {
		require.NoError(t, identity{uid: os.Getuid(), gid: os.Getgid()}.drop())
		assert.Equal(t, 0, os.Getuid())
		return
	}
	require.NoError(t, identity{uid: os.Getuid(), gid: os.Getgid()}.drop())
	assert.ErrorContains(t, identity{uid: -1, gid: 0}.drop(), "setgid 0")
	assert.ErrorContains(t, identity{uid: 0, gid: -1}.drop(), "setuid 0")
}
