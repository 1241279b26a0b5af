//go:build unix

package destfs

import (
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Umask returns the process umask (set and restored at once).
func Umask() uint32 {
	m := unix.Umask(0o022)
	unix.Umask(m)
	return uint32(m)
}

// setMtime sets the modification time of entry name of directory dir, without following a
// symbolic link, and leaves the access time alone.
func setMtime(dir *os.File, name string, mtime time.Time) error {
	ts := []unix.Timespec{keepAtime(mtime), unix.NsecToTimespec(mtime.UnixNano())}
	rc, err := dir.SyscallConn()
	if err != nil {
		return err
	}
	var inner error
	if err := rc.Control(func(fd uintptr) {
		inner = unix.UtimesNanoAt(int(fd), name, ts, unix.AT_SYMLINK_NOFOLLOW)
	}); err != nil {
		return err
	}
	return inner
}

// ids returns the owner and group of fi.
func ids(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// privileged reports whether the process may give files away (it runs as root).
func privileged() bool { return os.Geteuid() == 0 }
