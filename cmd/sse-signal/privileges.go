package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// identity is the user and group to switch to after binding; -1 keeps
// the current one.
type identity struct {
	uid, gid int
}

// resolveIdentity looks up --uid and --gid, names or numbers, before the
// server binds, so that a typo stops it before it starts. With a user and
// no group, the group is the user's primary group: keeping root's group
// would leave the process more than it needs. An unknown name is a bad
// command line: the error wraps errUsage.
func resolveIdentity(uidArg, gidArg string) (identity, error) {
	id := identity{uid: -1, gid: -1}
	if uidArg != "" {
		u, err := lookupUser(uidArg)
		switch {
		case err == nil:
			id.uid, _ = strconv.Atoi(u.Uid)
			if gidArg == "" {
				id.gid, _ = strconv.Atoi(u.Gid)
			}
		case isNumber(uidArg):
			id.uid, _ = strconv.Atoi(uidArg)
			if gidArg == "" {
				return id, fmt.Errorf("%w: --uid: user %s has no passwd entry to take a group from, so give --gid too", errUsage, uidArg)
			}
		default:
			return id, fmt.Errorf("%w: --uid: unknown user %q", errUsage, uidArg)
		}
	}
	if gidArg != "" {
		g, err := lookupGroup(gidArg)
		switch {
		case err == nil:
			id.gid, _ = strconv.Atoi(g.Gid)
		case isNumber(gidArg):
			id.gid, _ = strconv.Atoi(gidArg)
		default:
			return id, fmt.Errorf("%w: --gid: unknown group %q", errUsage, gidArg)
		}
	}
	return id, nil
}

func lookupUser(s string) (*user.User, error) {
	if isNumber(s) {
		return user.LookupId(s)
	}
	return user.Lookup(s)
}

func lookupGroup(s string) (*user.Group, error) {
	if isNumber(s) {
		return user.LookupGroupId(s)
	}
	return user.LookupGroup(s)
}

func isNumber(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0
}

// drop switches the process to id: the group first (supplementary groups
// too, when root), then the user, after which the group could no longer
// be changed. Go applies both to every thread.
func (id identity) drop() error {
	if id.gid >= 0 {
		if os.Geteuid() == 0 {
			if err := syscall.Setgroups([]int{id.gid}); err != nil {
				return fmt.Errorf("setgroups %d: %w", id.gid, err)
			}
		}
		if err := syscall.Setgid(id.gid); err != nil {
			return fmt.Errorf("setgid %d: %w", id.gid, err)
		}
	}
	if id.uid >= 0 {
		if err := syscall.Setuid(id.uid); err != nil {
			return fmt.Errorf("setuid %d: %w", id.uid, err)
		}
	}
	return nil
}
