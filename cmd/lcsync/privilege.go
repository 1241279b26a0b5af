package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// dropPrivileges makes the process run as the user name (a name or a numeric uid) and that
// user's primary group, with no supplementary groups. It is called once the sockets that need
// CAP_NET_RAW are open: those keep working, and setuid from root to another user clears
// every capability (capabilities(7)), so nothing privileged is left. Go applies setuid,
// setgid and setgroups to every thread of the process.
func dropPrivileges(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if _, nerr := strconv.Atoi(name); nerr != nil || !errors.As(err, &unknown) {
			return 0, 0, usagef(fmt.Sprintf("--user %s: %v", name, err))
		}
		if u, err = user.LookupId(name); err != nil {
			return 0, 0, usagef(fmt.Sprintf("--user %s: %v", name, err))
		}
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, fmt.Errorf("--user %s: uid %q: %w", name, u.Uid, err)
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, fmt.Errorf("--user %s: gid %q: %w", name, u.Gid, err)
	}
	if os.Getuid() == uid && os.Geteuid() == uid && os.Getgid() == gid && os.Getegid() == gid && uid != 0 {
		return uid, gid, nil // already that user (its own groups are no privilege)
	}
	fail := func(what string, err error) (int, int, error) {
		return 0, 0, withCode(exitPrivilege, fmt.Errorf("--user %s: %s: %w (switching user needs root or CAP_SETUID and CAP_SETGID)", name, what, err))
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fail("dropping supplementary groups", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fail("setgid "+u.Gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fail("setuid "+u.Uid, err)
	}
	if uid != 0 && (syscall.Setuid(0) == nil || os.Geteuid() == 0) {
		return 0, 0, withCode(exitPrivilege, fmt.Errorf("--user %s: root could be regained after switching user", name))
	}
	return uid, gid, nil
}
