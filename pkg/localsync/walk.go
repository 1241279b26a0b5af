package localsync

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/destfs"
)

// syncer is the state of one Sync call. It is used by one goroutine.
type syncer struct {
	ctx      context.Context
	opt      Options
	root     *os.Root // destination; nil in a dry run whose destination does not exist
	rootPath string
	rootID   devIno
	ours     map[devIno]bool // directories this sync created, never walked as sources
	stats    Stats
	errs     []error
	buf      []byte
	cmpSrc   []byte // compare buffers of a one-slab file (see compare)
	cmpOld   []byte
	copier   destfs.Copier // remembers that copy_file_range is unsupported here
}

// dstDir is a destination directory being filled. f is nil when the
// directory does not exist (in a dry run).
type dstDir struct {
	rel     string
	f       *os.File
	r       *os.Root // the same directory, for operations on its entries by name; nil with f
	renamed bool     // a file was renamed into it: sync it once it is filled
}

// fs returns dir for the destination layer (dir must exist).
func (dir *dstDir) fs() *destfs.Dir { return destfs.NewDir(dir.r, dir.f) }

// syncRenamed fsyncs dir if a file was renamed into it, making those renames durable: once
// per directory instead of once per file.
func (s *syncer) syncRenamed(dir *dstDir) error {
	if !dir.renamed || dir.f == nil {
		return nil
	}
	dir.renamed = false
	if err := dir.f.Sync(); err != nil {
		return newError("sync directory", s.dstPath(dir.rel), err)
	}
	return nil
}

// devIno identifies a directory.
type devIno struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) devIno {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return devIno{uint64(st.Dev), uint64(st.Ino)}
	}
	return devIno{}
}

func (s *syncer) report(r FileResult) {
	if s.opt.OnFile != nil {
		s.opt.OnFile(r)
	}
}

// fail records the failure of the entry at rel.
func (s *syncer) fail(rel string, err error) {
	s.stats.Errors++
	if len(s.errs) < maxReportedErrors {
		s.errs = append(s.errs, err)
	}
	s.report(FileResult{Path: rel, Action: ActionError, Err: err})
}

// dstPath is the full path of a destination entry, for messages.
func (s *syncer) dstPath(rel string) string {
	return filepath.Join(s.rootPath, filepath.FromSlash(rel))
}

// lstat returns the destination entry at rel, or nil if there is none.
func (s *syncer) lstat(dir *dstDir, rel string) (fs.FileInfo, error) {
	if dir.f == nil {
		return nil, nil
	}
	fi, err := dir.r.Lstat(path.Base(rel)) // rel is an entry of dir
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, newError("stat", s.dstPath(rel), err)
	}
	return fi, nil
}

// entry syncs one source entry into dir under name. Only a cancelled context
// is returned; other failures are recorded and the walk goes on.
func (s *syncer) entry(dir *dstDir, srcPath, name string, si fs.FileInfo) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	rel := path.Join(dir.rel, name)
	var err error
	switch {
	case si.IsDir():
		err = s.syncDir(dir, srcPath, rel, name, si)
	case si.Mode().IsRegular():
		err = s.syncFile(dir, srcPath, rel, name, si)
	case si.Mode()&fs.ModeSymlink != 0:
		err = s.syncLink(dir, srcPath, rel, name, si)
	default:
		s.stats.Skipped++
		s.report(FileResult{Path: rel, Action: ActionSkip})
	}
	if err != nil {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		s.fail(rel, err)
	}
	return nil
}

// fill syncs the entries of source directory srcPath into dir, deleting
// extra destination entries first when asked to.
func (s *syncer) fill(dir *dstDir, srcPath string) error {
	ents, err := os.ReadDir(srcPath)
	if err != nil {
		s.fail(dir.rel, newError("read directory", srcPath, err))
		return nil
	}
	if s.opt.Delete {
		if err := s.deleteExtras(dir, ents); err != nil {
			return err
		}
	}
	for _, e := range ents {
		si, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // vanished since the directory was read
			}
			s.fail(path.Join(dir.rel, e.Name()), newError("stat source", filepath.Join(srcPath, e.Name()), err))
			continue
		}
		if si.IsDir() && s.isCopy(si) {
			// The source contains the destination (lcsync a a/b): never
			// copy the copy into itself.
			continue
		}
		if err := s.entry(dir, filepath.Join(srcPath, e.Name()), e.Name(), si); err != nil {
			return err
		}
	}
	return nil
}

// deleteExtras removes the entries of dir that the source does not have.
func (s *syncer) deleteExtras(dir *dstDir, src []fs.DirEntry) error {
	if dir.f == nil {
		return nil
	}
	gone, err := destfs.Extras(dir.f, func(name string) bool {
		_, found := slices.BinarySearchFunc(src, name, func(e fs.DirEntry, n string) int { return cmpString(e.Name(), n) })
		return found
	})
	if err != nil {
		s.fail(dir.rel, newError("read directory", s.dstPath(dir.rel), err))
		return nil
	}
	for _, name := range gone {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		rel := path.Join(dir.rel, name)
		if !s.opt.DryRun {
			if err := s.root.RemoveAll(rel); err != nil {
				s.fail(rel, newError("delete", s.dstPath(rel), err))
				continue
			}
		}
		s.stats.Deleted++
		s.report(FileResult{Path: rel, Action: ActionDelete})
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// clear removes the destination entry at rel, of another type than its
// source, so it can be replaced. A directory goes only when empty, or with
// all its contents when Delete is set.
func (s *syncer) clear(rel string, fi fs.FileInfo) error {
	if s.opt.DryRun {
		return nil
	}
	var err error
	if fi.IsDir() && s.opt.Delete {
		err = s.root.RemoveAll(rel)
	} else {
		err = s.root.Remove(rel)
	}
	if err != nil {
		if fi.IsDir() {
			return newError("replace directory (not empty; Delete removes it)", s.dstPath(rel), err)
		}
		return newError("replace", s.dstPath(rel), err)
	}
	return nil
}

// isCopy reports whether source directory si is the destination root or a
// directory this sync created.
func (s *syncer) isCopy(si fs.FileInfo) bool {
	id := idOf(si)
	return id != devIno{} && (s.ours[id] || id == s.rootID)
}

// syncDir syncs a source directory into the destination directory rel.
func (s *syncer) syncDir(parent *dstDir, srcPath, rel, name string, si fs.FileInfo) error {
	di, err := s.lstat(parent, rel)
	if err != nil {
		return err
	}
	if di != nil && !di.IsDir() {
		if err := s.clear(rel, di); err != nil {
			return err
		}
		di = nil
	}
	dir := &dstDir{rel: rel}
	s.stats.Dirs++
	if di == nil {
		if !s.opt.DryRun {
			if err := s.root.Mkdir(rel, dirCreatePerm(si)); err != nil {
				return newError("create directory", s.dstPath(rel), err)
			}
			if fi, err := s.root.Lstat(rel); err == nil {
				s.ours[idOf(fi)] = true
			}
		}
		s.report(FileResult{Path: rel, Action: ActionMkdir})
	} else {
		s.report(FileResult{Path: rel, Action: ActionDir})
	}
	if !s.opt.DryRun || di != nil {
		if dir.f, err = s.root.Open(rel); err != nil {
			return newError("open directory", s.dstPath(rel), err)
		}
		defer dir.f.Close()
		if dir.r, err = s.root.OpenRoot(rel); err != nil {
			return newError("open directory", s.dstPath(rel), err)
		}
		defer dir.r.Close()
		s.sweep(dir)
	}
	if err := s.fill(dir, srcPath); err != nil {
		_ = s.syncRenamed(dir) // what was renamed into it stays
		return err
	}
	if err := s.syncRenamed(dir); err != nil {
		return err
	}
	return s.dirAttrs(parent, dir, si, di == nil)
}

// dirCreatePerm is the mode a new directory is created with: the source's
// permission bits plus owner rwx, so the sync can fill it (the umask applies).
func dirCreatePerm(si fs.FileInfo) fs.FileMode { return si.Mode().Perm() | 0o700 }

// dirAttrs applies mode and mtime to a synced directory once it is filled.
// parent is nil for the root; created says whether this sync made dir.
func (s *syncer) dirAttrs(parent *dstDir, dir *dstDir, si fs.FileInfo, created bool) error {
	if s.opt.DryRun || dir.f == nil {
		return nil
	}
	own := s.owner(si)
	if err := setOwner(dir.f, own); err != nil {
		return newError("chown", s.dstPath(dir.rel), err)
	}
	switch {
	case s.opt.Perms:
		if err := dir.f.Chmod(destfs.SafeMode(destfs.ModeBits(si), true, own.SetUID, own.SetGID)); err != nil {
			return newError("chmod", s.dstPath(dir.rel), err)
		}
	case created && si.Mode().Perm()&0o700 != 0o700:
		// Drop the owner bits added so the directory could be filled,
		// keeping what the umask made of the rest.
		fi, err := dir.f.Stat()
		if err != nil {
			return newError("stat", s.dstPath(dir.rel), err)
		}
		if err := dir.f.Chmod(fi.Mode().Perm() &^ (0o700 &^ si.Mode().Perm())); err != nil {
			return newError("chmod", s.dstPath(dir.rel), err)
		}
	}
	if s.opt.Times {
		if parent == nil {
			if err := s.root.Chtimes(".", time.Time{}, si.ModTime()); err != nil {
				return newError("set times", s.rootPath, err)
			}
			return nil
		}
		if err := parent.fs().SetMtime(path.Base(dir.rel), si.ModTime()); err != nil {
			return newError("set times", s.dstPath(dir.rel), err)
		}
	}
	return nil
}

// syncLink copies a symbolic link as a link.
func (s *syncer) syncLink(parent *dstDir, srcPath, rel, name string, si fs.FileInfo) error {
	target, err := os.Readlink(srcPath)
	if err != nil {
		return newError("read link", srcPath, err)
	}
	s.stats.Symlinks++
	di, err := s.lstat(parent, rel)
	if err != nil {
		return err
	}
	if di != nil && di.Mode()&fs.ModeSymlink != 0 {
		if cur, err := s.root.Readlink(rel); err == nil && cur == target {
			s.report(FileResult{Path: rel, Action: ActionUnchanged})
			return s.linkTimes(parent, rel, name, si, di)
		}
	}
	if s.opt.DryRun {
		s.report(FileResult{Path: rel, Action: ActionSymlink})
		return nil
	}
	if di != nil && di.IsDir() {
		if err := s.clear(rel, di); err != nil {
			return err
		}
		di = nil
	}
	if di == nil {
		if err := s.root.Symlink(target, rel); err != nil {
			return newError("create symlink", s.dstPath(rel), err)
		}
	} else {
		// Replace the old entry atomically: a new link under a temporary
		// name, renamed over it.
		tmp, err := s.tempName(parent.rel, name, func(tmp string) error { return s.root.Symlink(target, tmp) })
		if err != nil {
			return err
		}
		if err := s.root.Rename(tmp, rel); err != nil {
			s.root.Remove(tmp)
			return newError("rename", s.dstPath(rel), err)
		}
	}
	if own := s.owner(si); own.SetUID || own.SetGID {
		uid, gid := -1, -1
		if own.SetUID {
			uid = own.UID
		}
		if own.SetGID {
			gid = own.GID
		}
		if err := s.root.Lchown(rel, uid, gid); err != nil {
			return newError("chown", s.dstPath(rel), err)
		}
	}
	s.report(FileResult{Path: rel, Action: ActionSymlink})
	return s.linkTimes(parent, rel, name, si, nil)
}

// linkTimes applies the source link's mtime (not its target's) with Times.
func (s *syncer) linkTimes(parent *dstDir, rel, name string, si, di fs.FileInfo) error {
	if !s.opt.Times || s.opt.DryRun || (di != nil && di.ModTime().Equal(si.ModTime())) {
		return nil
	}
	if err := parent.fs().SetMtime(name, si.ModTime()); err != nil {
		return newError("set times", s.dstPath(rel), err)
	}
	return nil
}

// blockSize is the merkle block size in use.
func (s *syncer) blockSize() int {
	if s.opt.BlockSize == 0 {
		return merkle.DefaultBlockSize
	}
	return s.opt.BlockSize
}

// sweep removes the stale temporary files a killed sync or fetch left in dir (review M1);
// failing to list dir only means none are removed.
func (s *syncer) sweep(dir *dstDir) {
	if s.opt.DryRun || dir.r == nil {
		return
	}
	_, _, _ = destfs.SweepTemps(dir.r, destfs.StaleAge)
}
