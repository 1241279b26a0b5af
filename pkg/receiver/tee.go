package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// A local copy that looks changed (its size or modification time differs from the manifest
// entry's) is hashed and written into the temporary file in the same pass: the tree then
// describes exactly the bytes already in place, the blocks it shares with the file need
// neither a copy nor a second hashing to catch a local copy that changed meanwhile, and the
// fetched blocks overwrite the others. A copy that looks unchanged is only hashed (writing it
// would be wasted if it is), and its reused blocks are copied and checked as before.

// looksChanged reports whether the local file fi is a regular file with data whose size or
// modification time differs from e's.
func looksChanged(fi os.FileInfo, e wire.Entry) bool {
	return fi.Mode().IsRegular() && fi.Size() > 0 && (fi.Size() != e.Size || fi.ModTime().UnixNano() != e.MTime)
}

// teeReaderAt reads from r and writes what it read to w at the same offset. The first write
// error is kept: it is the destination's failure (a full disk), not the local copy's.
type teeReaderAt struct {
	r io.ReaderAt
	w io.WriterAt

	mu   sync.Mutex
	werr error
}

func (t *teeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := t.r.ReadAt(p, off)
	if n > 0 {
		if _, werr := t.w.WriteAt(p[:n], off); werr != nil {
			t.mu.Lock()
			if t.werr == nil {
				t.werr = werr
			}
			t.mu.Unlock()
			return n, werr
		}
	}
	return n, err
}

// teeLocal hashes the first min(local size, size) bytes of the local file at rel (through
// root) in blocks of bs bytes, writing them into dst at the same offsets. A local copy that
// cannot be read means "no usable local copy" (nil tree, nil error: dst is then overwritten
// by fetched blocks); a failure to write dst is an error. tb builds the tree.
func teeLocal(ctx context.Context, root *os.Root, rel string, bs int, size int64, dst *os.File, tb treeBuilder) (*merkle.Tree, error) {
	fh, err := root.Open(rel)
	if err != nil {
		return nil, nil
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, nil
	}
	n := min(fi.Size(), size)
	if n <= 0 {
		return nil, nil
	}
	tee := &teeReaderAt{r: fh, w: dst}
	t, err := tb.build(ctx, tee, n, bs)
	switch {
	case tee.werr != nil:
		return nil, fmt.Errorf("receiver: writing the temporary file of %s: %w", rel, tee.werr)
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil && errors.Is(err, context.Canceled):
		return nil, err
	case err != nil:
		return nil, nil
	}
	return t, nil
}
