package localsync

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// cloneChunk bounds one copy_file_range call, so cancellation is noticed
// between chunks.
const cloneChunk = 64 << 20

// copyRange copies n bytes at offset off of src into dst at the same offset,
// inside the kernel with copy_file_range(2) (a reflink where the file system
// shares extents). Where that is not supported it falls back to reads and
// writes, for this and every later copy of the sync.
func (s *syncer) copyRange(dst, src *os.File, off, n int64, dstPath string) error {
	for n > 0 && !s.noClone {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		roff, woff := off, off
		var c int
		var err error
		if cerr := control2(src, dst, func(rfd, wfd int) {
			c, err = unix.CopyFileRange(rfd, &roff, wfd, &woff, int(min(n, cloneChunk)), 0)
		}); cerr != nil {
			err = cerr
		}
		switch {
		case err != nil && cloneUnsupported(err):
			s.noClone = true
		case err != nil:
			return newError("copy", dstPath, err)
		case c == 0:
			return newError("copy", dstPath, fmt.Errorf("destination shrank during the sync: %w", io.ErrUnexpectedEOF))
		default:
			s.stats.BytesCloned += int64(c)
			s.wrote()
			off += int64(c)
			n -= int64(c)
		}
	}
	if n == 0 {
		return nil
	}
	return s.copyThrough(dst, src, off, n, dstPath)
}

// cloneUnsupported reports whether a copy_file_range error means "use reads
// and writes instead".
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
