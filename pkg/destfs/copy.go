package destfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// cloneChunk bounds one copy_file_range call, so cancellation is noticed between chunks.
const cloneChunk = 64 << 20

// bufSize is the size of the buffer a Copier allocates when it has none.
const bufSize = 1 << 20

// Copier copies byte ranges from one file into another at the same offsets: inside the kernel
// with copy_file_range(2) where it can (a reflink on file systems that share extents), else
// through a buffer. Once the kernel copy is found unsupported (another file system, an old
// kernel, another OS), the Copier copies through the buffer from then on. A Copier is used
// by one goroutine at a time.
type Copier struct {
	// Buf is the buffer for copies that cannot be made in the kernel; nil allocates 1 MiB
	// on first use.
	Buf []byte
	// Cloned and Written count the bytes copied inside the kernel and through the buffer.
	Cloned, Written int64
	// OnChunk, if set, is called after each chunk copied.
	OnChunk func()

	noClone bool
}

// Copy copies n bytes at offset off of src into dst at the same offset. A source shorter than
// off+n gives an error wrapping io.ErrUnexpectedEOF. Errors are *fs.PathError with Op "copy"
// or "write" and the destination's name, or "read" and the source's; a cancelled ctx stops the
// copy between chunks with ctx.Err().
func (c *Copier) Copy(ctx context.Context, dst, src *os.File, off, n int64) error {
	for n > 0 && !c.noClone {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := clone(dst, src, off, min(n, cloneChunk))
		switch {
		case err != nil && cloneUnsupported(err):
			c.noClone = true
		case err != nil:
			return &fs.PathError{Op: "copy", Path: dst.Name(), Err: err}
		case k == 0:
			return &fs.PathError{Op: "copy", Path: dst.Name(), Err: fmt.Errorf("the source shrank: %w", io.ErrUnexpectedEOF)}
		default:
			c.Cloned += k
			c.chunk()
			off += k
			n -= k
		}
	}
	return c.through(ctx, dst, src, off, n)
}

// through copies n bytes at off from src to dst through the buffer.
func (c *Copier) through(ctx context.Context, dst, src *os.File, off, n int64) error {
	if c.Buf == nil {
		c.Buf = make([]byte, bufSize)
	}
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := c.Buf[:min(n, int64(len(c.Buf)))]
		if r, err := src.ReadAt(p, off); r < len(p) {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("the source shrank: %w", io.ErrUnexpectedEOF)
			}
			return &fs.PathError{Op: "read", Path: src.Name(), Err: unwrapPath(err)}
		}
		if _, err := dst.WriteAt(p, off); err != nil {
			return &fs.PathError{Op: "write", Path: dst.Name(), Err: unwrapPath(err)}
		}
		c.Written += int64(len(p))
		c.chunk()
		off += int64(len(p))
		n -= int64(len(p))
	}
	return nil
}

func (c *Copier) chunk() {
	if c.OnChunk != nil {
		c.OnChunk()
	}
}

// unwrapPath drops an *fs.PathError wrapper, keeping the system error.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
