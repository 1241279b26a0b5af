package receiver

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// umask returns the process umask (set and restored at once).
func umask() uint32 {
	m := unix.Umask(0o022)
	unix.Umask(m)
	return uint32(m)
}

// copyRange copies n bytes at off from src to dst inside the kernel (copy_file_range, which
// shares extents on file systems that support it), falling back to read/write.
func copyRange(dst, src *os.File, off, n int64) error {
	in, out := off, off
	for n > 0 {
		k, err := unix.CopyFileRange(int(src.Fd()), &in, int(dst.Fd()), &out, int(min(n, 1<<30)), 0)
		if err != nil || k == 0 {
			return copyRangeFallback(dst, src, in, n)
		}
		n -= int64(k)
	}
	return nil
}

// lchtimes sets a symlink's own times.
func lchtimes(path string, mt time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(mt.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}
