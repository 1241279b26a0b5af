//go:build linux

package destfs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// clone copies up to n bytes at off from src into dst with copy_file_range(2).
func clone(dst, src *os.File, off, n int64) (int64, error) {
	roff, woff := off, off
	var c int
	var err error
	if cerr := control2(src, dst, func(rfd, wfd int) {
		c, err = unix.CopyFileRange(rfd, &roff, wfd, &woff, int(n), 0)
	}); cerr != nil {
		err = cerr
	}
	return int64(c), err
}

// cloneUnsupported reports whether a copy_file_range error means "use reads and writes
// instead".
func cloneUnsupported(err error) bool {
	return errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) ||
		errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EBADF)
}

// control2 runs f with the descriptors of two files, keeping both valid.
func control2(a, b *os.File, f func(afd, bfd int)) error {
	ac, err := a.SyscallConn()
	if err != nil {
		return err
	}
	bc, err := b.SyscallConn()
	if err != nil {
		return err
	}
	var inner error
	err = ac.Control(func(afd uintptr) {
		inner = bc.Control(func(bfd uintptr) { f(int(afd), int(bfd)) })
	})
	return errors.Join(err, inner)
}
