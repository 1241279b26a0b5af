package receiver

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// writeBlocks writes bufs one after the other into f from offset off with as few pwritev
// calls as the kernel allows (IOV_MAX buffers a call; a short write is continued).
func writeBlocks(f *os.File, off int64, bufs [][]byte) error {
	if len(bufs) == 1 {
		_, err := f.WriteAt(bufs[0], off)
		return err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(bufs) > 0 {
			n, err := unix.Pwritev(int(fd), bufs[:min(len(bufs), iovMax)], off)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				werr = &os.PathError{Op: "pwritev", Path: f.Name(), Err: err}
				return true
			}
			if n == 0 {
				werr = &os.PathError{Op: "pwritev", Path: f.Name(), Err: io.ErrShortWrite}
				return true
			}
			off += int64(n)
			for n > 0 {
				k := min(n, len(bufs[0]))
				bufs[0] = bufs[0][k:]
				n -= k
				if len(bufs[0]) == 0 {
					bufs = bufs[1:]
				}
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}

// iovMax is Linux's IOV_MAX.
const iovMax = 1024
