package receiver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/destfs"
)

// cloneLocal puts f's local copy into its temporary file without reading it, when
// Config.LocalTree vouches for the copy's tree: inside the kernel (copy_file_range; a reflink
// where the file system shares extents), and the copy's identity (destfs.Identity) must be the
// same after as before, or the clone is thrown away. It returns the tree, with f.teed and
// f.vouched set (nothing cloned when the copy is already f's content); nil when there is no
// vouched tree or the copy changed meanwhile, and the caller then hashes the copy as usual.
// An error is the destination's (a full disk).
func (p *plan) cloneLocal(ctx context.Context, s *session, f *fileState) (*merkle.Tree, error) {
	src, err := p.root.Open(f.rel)
	if err != nil {
		return nil, nil
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > f.shape.Size() {
		return nil, nil // a local copy longer than the file: hashed (teeLocal takes its prefix)
	}
	before, ok := destfs.IdentityOf(fi)
	if !ok {
		return nil, nil
	}
	t := s.cfg.LocalTree(f.rel, fi, f.entry)
	if t == nil || t.Shape().Size() != fi.Size() || t.Shape().BlockSize() != f.shape.BlockSize() {
		return nil, nil
	}
	if fi.Size() == f.shape.Size() && t.Top() == merkle.Hash(f.entry.Top) {
		return t, nil // already the file: activate keeps it
	}
	if err := p.createTemp(s, f); err != nil {
		return nil, err
	}
	var c destfs.Copier
	err = c.Copy(ctx, f.tmp, src, 0, fi.Size())
	var pe *fs.PathError
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil && errors.As(err, &pe) && pe.Op == "read":
		// The local copy could not be read (or shrank): hashed as usual, which decides.
	case err != nil:
		return nil, fmt.Errorf("receiver: copying the local copy of %s: %w", f.rel, err)
	default:
		if after, err := src.Stat(); err == nil {
			if id, ok := destfs.IdentityOf(after); ok && id == before {
				f.teed, f.vouched = true, true
				s.mu.Lock()
				s.stats.Cloned += fi.Size()
				s.mu.Unlock()
				return t, nil
			}
		}
	}
	// Changed while it was cloned: start the temporary file afresh.
	if err := f.tmp.Truncate(0); err != nil {
		return nil, fmt.Errorf("receiver: truncating the temporary file of %s: %w", f.rel, err)
	}
	return nil, nil
}
