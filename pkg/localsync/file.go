package localsync

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/destfs"
)

// copyBufSize is the size of the buffer blocks are copied through. It is a
// multiple of every block size.
const copyBufSize = merkle.MaxBlockSize

// fileJob is one regular file being synced.
type fileJob struct {
	parent  *dstDir
	rel     string
	name    string
	srcPath string
	src     *os.File
	si      fs.FileInfo // of the open source
	shape   merkle.Shape
	need    *bitset.BitSet // blocks that differ from the destination
	old     *os.File       // existing regular destination, or nil
	oldInfo fs.FileInfo    // of old
	di      fs.FileInfo    // existing destination entry of any type, or nil
}

// openSource opens a source file without following a link and without
// blocking should it have been replaced by a FIFO.
func openSource(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// syncFile syncs the regular source file srcPath, of which lsi is the
// Lstat, to rel. Unless Checksum is set, a regular destination with the same
// size and modification time is reported unchanged without being opened.
func (s *syncer) syncFile(parent *dstDir, srcPath, rel, name string, lsi fs.FileInfo) error {
	s.stats.Files++
	di, err := s.lstat(parent, rel)
	if err != nil {
		return err
	}
	if !s.opt.Checksum && di != nil && quickSame(lsi, di) {
		return s.quickUnchanged(parent, srcPath, rel, name, lsi, di)
	}
	src, err := openSource(srcPath)
	if err != nil {
		return newError("open source", srcPath, err)
	}
	defer src.Close()
	s.opened(srcPath)
	si, err := src.Stat()
	if err != nil {
		return newError("stat source", srcPath, err)
	}
	if !si.Mode().IsRegular() {
		return newError("open source", srcPath, errors.New("no longer a regular file"))
	}
	shape, err := merkle.NewShape(si.Size(), s.blockSize())
	if err != nil {
		return newError("open source", srcPath, err)
	}
	j := &fileJob{parent: parent, rel: rel, name: name, srcPath: srcPath, src: src, si: si, shape: shape, di: di}
	if j.di != nil && j.di.Mode().IsRegular() {
		if j.old, err = parent.r.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0); err != nil {
			return newError("open", s.dstPath(rel), err)
		}
		defer j.old.Close()
		s.opened(s.dstPath(rel))
		if j.oldInfo, err = j.old.Stat(); err != nil {
			return newError("stat", s.dstPath(rel), err)
		}
	}

	res := FileResult{Path: rel, Blocks: shape.Blocks(), Action: ActionCreate}
	var out *output
	if !s.opt.DryRun {
		out = s.newOutput(j)
		defer s.release(out)
	}
	if j.old == nil {
		j.need = bitset.New(uint(shape.Blocks())).SetAll()
	} else {
		res.Action = ActionUpdate
		same, err := s.compare(j, out)
		if err != nil {
			return err
		}
		if same {
			s.stats.Unchanged++
			s.stats.Blocks += int64(shape.Blocks())
			res.Action = ActionUnchanged
			s.report(res)
			return s.sameFileAttrs(j.parent, j.rel, j.name, j.si, j.oldInfo, j.old)
		}
	}
	res.ChangedBlocks = int(j.need.Count())
	_ = forRuns(j.need, shape.Blocks(), func(first, end int, changed bool) error {
		if changed {
			res.BytesCopied += runBytes(shape, first, end)
		}
		return nil
	})
	if !s.opt.DryRun {
		if s.opt.Inplace && j.old != nil {
			err = s.finishInplace(j, out)
		} else {
			err = s.writeTemp(j, out)
		}
		if err != nil {
			return err
		}
	}
	s.stats.Blocks += int64(shape.Blocks())
	s.stats.ChangedBlocks += int64(res.ChangedBlocks)
	if res.Action == ActionCreate {
		s.stats.Created++
	} else {
		s.stats.Updated++
	}
	s.report(res)
	return nil
}

// sameFileAttrs applies mode and mtime to the destination file at rel (di
// its stat, old the open file or nil) whose content already matches the
// source file si. A file that is not open is opened only to change its mode.
func (s *syncer) sameFileAttrs(parent *dstDir, rel, name string, si, di fs.FileInfo, old *os.File) error {
	if s.opt.DryRun {
		return nil
	}
	own := s.owner(si)
	mode := s.fileMode(si)
	if s.opt.Perms && destfs.ModeBits(di) != mode || !sameOwner(di, own) {
		if old == nil {
			f, err := parent.r.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
			if err != nil {
				return newError("open", s.dstPath(rel), err)
			}
			defer f.Close()
			if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
				if err == nil {
					err = errors.New("no longer a regular file")
				}
				return newError("chmod", s.dstPath(rel), err)
			}
			old = f
		}
		if err := setOwner(old, own); err != nil {
			return newError("chown", s.dstPath(rel), err)
		}
		if s.opt.Perms {
			if err := old.Chmod(mode); err != nil {
				return newError("chmod", s.dstPath(rel), err)
			}
		}
	}
	if s.opt.Times && !di.ModTime().Equal(si.ModTime()) {
		if err := parent.fs().SetMtime(name, si.ModTime()); err != nil {
			return newError("set times", s.dstPath(rel), err)
		}
	}
	return nil
}

// newOutput returns where the changed blocks of j go: a temporary file
// beside the destination or, with Inplace and a regular destination, the
// destination itself. Nothing is opened yet.
func (s *syncer) newOutput(j *fileJob) *output {
	o := &output{}
	if s.opt.Inplace && j.old != nil {
		o.open = func() (*os.File, string, error) {
			p := s.dstPath(j.rel)
			f, err := j.parent.r.OpenFile(j.name, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
			if err != nil {
				return nil, "", newError("open", p, err)
			}
			return f, p, nil
		}
		return o
	}
	o.open = func() (*os.File, string, error) {
		var f *os.File
		tmp, err := s.tempName(j.parent.rel, j.name, func(tmp string) error {
			var err error
			f, err = j.parent.r.OpenFile(path.Base(tmp), os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, j.si.Mode().Perm())
			return err
		})
		if err != nil {
			return nil, "", err
		}
		if err := destfs.LockTemp(f); err != nil { // in use: not to be swept (destfs.SweepTemps)
			f.Close()
			_ = s.root.Remove(tmp)
			return nil, "", newError("lock", s.dstPath(tmp), err)
		}
		o.tmp = tmp
		return f, s.dstPath(tmp), nil
	}
	return o
}

// release closes o if it is still open, removing it if it is a temporary
// file: the sync of its file failed or was cancelled.
func (s *syncer) release(o *output) {
	if o.f == nil {
		return
	}
	o.f.Close()
	o.f = nil
	if o.tmp != "" {
		s.root.Remove(o.tmp)
	}
}

// writeTemp completes the new file in the temporary file out (changed blocks
// of an existing destination are in it already; a new file is copied whole),
// then renames it over the destination.
func (s *syncer) writeTemp(j *fileJob, out *output) error {
	if err := out.ensure(); err != nil {
		return err
	}
	tf, tmpPath := out.f, out.path
	err := forRuns(j.need, j.shape.Blocks(), func(first, end int, changed bool) error {
		switch {
		case changed && j.old != nil:
			return nil // written by the compare pass
		case changed:
			return s.copySource(j, tf, tmpPath, first, end)
		}
		off := j.shape.BlockOffset(first)
		return s.copyRange(tf, j.old, off, runBytes(j.shape, first, end), tmpPath)
	})
	if err != nil {
		return err
	}
	a := destfs.Attrs{MTime: j.si.ModTime(), SetMTime: s.opt.Times, Owner: s.owner(j.si)}
	switch {
	case s.opt.Perms:
		a.Mode, a.SetMode = destfs.ModeBits(j.si), true
	case j.oldInfo != nil:
		a.Mode, a.SetMode = destfs.ModeBits(j.oldInfo), true // keep the destination's mode
	}
	ready := func() error {
		if j.di != nil && j.di.IsDir() {
			return s.clear(j.rel, j.di)
		}
		return nil
	}
	out.f = nil // Commit closes it, and removes it on failure
	if err := j.parent.fs().Commit(tf, path.Base(out.tmp), j.name, a, ready); err != nil {
		return s.dirErr(j.parent.rel, err)
	}
	j.parent.renamed = true // synced once the directory is filled
	return nil
}

// finishInplace completes an in-place update whose changed blocks the
// compare pass wrote into the destination: it sets the size, syncs and
// applies the attributes.
func (s *syncer) finishInplace(j *fileJob, out *output) error {
	if err := out.ensure(); err != nil {
		return err
	}
	f, dstPath := out.f, out.path
	if j.oldInfo.Size() != j.si.Size() {
		if err := f.Truncate(j.si.Size()); err != nil {
			return newError("truncate", dstPath, err)
		}
	}
	if err := f.Sync(); err != nil {
		return newError("sync", dstPath, err)
	}
	if err := setOwner(f, s.owner(j.si)); err != nil {
		return newError("chown", dstPath, err)
	}
	if s.opt.Perms {
		if err := f.Chmod(s.fileMode(j.si)); err != nil {
			return newError("chmod", dstPath, err)
		}
	}
	if s.opt.Times {
		if err := j.parent.fs().SetMtime(j.name, j.si.ModTime()); err != nil {
			return newError("set times", dstPath, err)
		}
	}
	out.f = nil
	if err := f.Close(); err != nil {
		return newError("close", dstPath, err)
	}
	return nil
}

// copySource copies blocks [first, end) of a new file from the source into
// dst at the same offsets.
func (s *syncer) copySource(j *fileJob, dst *os.File, dstPath string, first, end int) error {
	if s.buf == nil {
		s.buf = make([]byte, copyBufSize)
	}
	per := len(s.buf) / j.shape.BlockSize()
	for b := first; b < end; b += per {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		last := min(b+per, end)
		off := j.shape.BlockOffset(b)
		p := s.buf[:runBytes(j.shape, b, last)]
		n, err := j.src.ReadAt(p, off)
		if n < len(p) {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("source shrank during the sync: %w", io.ErrUnexpectedEOF)
			}
			return newError("read", j.srcPath, err)
		}
		s.stats.BytesRead += int64(len(p))
		if _, err := dst.WriteAt(p, off); err != nil {
			return newError("write", dstPath, err)
		}
		s.stats.BytesWritten += int64(len(p))
		s.wrote()
	}
	return nil
}

// wrote calls the test hook after a chunk was written.
func (s *syncer) wrote() {
	if s.opt.afterWrite != nil {
		s.opt.afterWrite()
	}
}

// copyRange copies n bytes at offset off of src into dst at the same offset, inside the
// kernel where it can (see destfs.Copier).
func (s *syncer) copyRange(dst, src *os.File, off, n int64, dstPath string) error {
	c := &s.copier
	if s.buf == nil {
		s.buf = make([]byte, copyBufSize)
	}
	c.Buf, c.OnChunk = s.buf, s.wrote
	cloned, written := c.Cloned, c.Written
	err := c.Copy(s.ctx, dst, src, off, n)
	s.stats.BytesCloned += c.Cloned - cloned
	s.stats.BytesWritten += c.Written - written
	var pe *fs.PathError
	switch {
	case err == nil || s.ctx.Err() != nil:
		return err
	case errors.As(err, &pe) && pe.Op == "read":
		return newError("read", src.Name(), pe.Err)
	case errors.As(err, &pe):
		return newError(pe.Op, dstPath, pe.Err)
	}
	return newError("copy", dstPath, err)
}

// dirErr puts an error of the destination layer about an entry of directory dirRel in the
// package's terms.
func (s *syncer) dirErr(dirRel string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return newError(pe.Op, s.dstPath(path.Join(dirRel, pe.Path)), pe.Err)
	}
	return err
}

// tempName creates a temporary entry beside name in directory dirRel with
// create, retrying on a name clash, and returns its path relative to the root.
func (s *syncer) tempName(dirRel, name string, create func(tmp string) error) (string, error) {
	tmp, err := destfs.CreateTemp(name, func(tmp string) error { return create(path.Join(dirRel, tmp)) })
	if err != nil {
		return "", newError("create temporary file in", s.dstPath(dirRel), err)
	}
	return path.Join(dirRel, tmp), nil
}

// runBytes is the number of bytes in blocks [first, end).
func runBytes(s merkle.Shape, first, end int) int64 {
	if first >= end {
		return 0
	}
	return min(s.BlockOffset(end), s.Size()) - s.BlockOffset(first)
}

// forRuns calls f for each maximal run [first, end) of blocks below n whose
// bits in need are equal, in order, stopping at the first error.
func forRuns(need *bitset.BitSet, n int, f func(first, end int, changed bool) error) error {
	for i := 0; i < n; {
		changed := need.Test(uint(i))
		var next uint
		var found bool
		if changed {
			next, found = need.NextClear(uint(i))
		} else {
			next, found = need.NextSet(uint(i))
		}
		end := n
		if found && int(next) < n {
			end = int(next)
		}
		if err := f(i, end, changed); err != nil {
			return err
		}
		i = end
	}
	return nil
}
