package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lcsync/lcsync/pkg/wire"
)

// walker collects entries. Below the top it never follows a symlink: each directory is
// opened relative to its parent's descriptor with O_NOFOLLOW and checked to be the inode that
// was listed, and entries are looked at with fstatat, so a directory swapped for a symlink
// mid-walk is skipped, never listed.
type walker struct {
	ix   *Index
	opt  Options
	root string // the directory files are opened relative to
}

func (w *walker) walk(abs string) error {
	var st unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil { // the argument itself is followed
		return fmt.Errorf("index: %w", &os.PathError{Op: "stat", Path: abs, Err: err})
	}
	w.root = abs
	if uint32(st.Mode)&unix.S_IFMT != unix.S_IFDIR {
		w.add(-1, abs, w.ix.Share, &st)
		return nil
	}
	fd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("index: %w", &os.PathError{Op: "open", Path: abs, Err: err})
	}
	w.add(-1, abs, w.ix.Share, &st)
	if err := w.dir(fd, abs, w.ix.Share, true); err != nil {
		return err
	}
	sort.Slice(w.ix.entries, func(i, j int) bool { return w.ix.entries[i].Name < w.ix.entries[j].Name })
	sort.Slice(w.ix.Files, func(i, j int) bool { return w.ix.Files[i].Entry.Name < w.ix.Files[j].Entry.Name })
	return nil
}

// dir walks the directory open as dfd (which it closes), at path (for messages), with the
// share name name. An unreadable directory is skipped with a warning,
// except the top, whose failure is an error.
func (w *walker) dir(dfd int, path, name string, top bool) error {
	d := os.NewFile(uintptr(dfd), path)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		if top {
			return fmt.Errorf("index: %w", err)
		}
		w.unreadable(path, name, err.Error())
		return nil
	}
	sort.Strings(names)
	for _, n := range names {
		cpath, cname := filepath.Join(path, n), name+"/"+n
		crel := relOf(w.ix.Share, cname)
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if !errors.Is(err, unix.ENOENT) { // a name removed since the listing is simply gone
				w.unreadable(cpath, name, err.Error())
			}
			continue
		}
		if w.excluded(crel, uint32(st.Mode)&unix.S_IFMT == unix.S_IFDIR) {
			continue
		}
		if !w.add(dfd, cpath, cname, &st) || uint32(st.Mode)&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		cfd, err := unix.Openat(dfd, n, openDir, 0)
		if err != nil {
			w.unreadable(cpath, cname, "cannot open directory: "+err.Error())
			continue
		}
		var cst unix.Stat_t
		if err := unix.Fstat(cfd, &cst); err != nil || cst.Dev != st.Dev || cst.Ino != st.Ino {
			unix.Close(cfd)
			w.unreadable(cpath, cname, "directory replaced while the share was walked")
			continue
		}
		if err := w.dir(cfd, cpath, cname, false); err != nil {
			return err
		}
	}
	return nil
}

// add records the entry at path (share name name, in the directory open
// as dfd, or -1 for the top) from its lstat. It reports whether the entry was recorded (a
// directory's contents are walked only then).
func (w *walker) add(dfd int, path, name string, st *unix.Stat_t) bool {
	if err := wire.CheckName(name); err != nil {
		w.skip(path, err.Error())
		return false
	}
	e := wire.Entry{Name: name, Mode: uint32(st.Mode) & 0o7777, MTime: st.Mtim.Nano()}
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFREG:
		e.Type = wire.EntryFile
		e.BlockShift = shift(w.opt.BlockSize)
		f := &File{Entry: e, root: w.root, rel: relOf(w.ix.Share, name), id: identityOf(st)}
		w.ix.Files = append(w.ix.Files, f)
		w.ix.entries = append(w.ix.entries, &f.Entry) // one copy, in the File
		return true
	case unix.S_IFDIR:
		e.Type = wire.EntryDir
	case unix.S_IFLNK:
		target, err := readlinkAt(dfd, path)
		if err != nil {
			w.unreadable(path, parentName(name), err.Error())
			return false
		}
		if len(target) == 0 || len(target) > wire.MaxTargetLen || strings.ContainsRune(target, 0) {
			w.skip(path, "symlink target too long")
			return false
		}
		e.Type, e.Target = wire.EntrySymlink, target
	default:
		w.skip(path, "not a regular file, directory or symlink")
		return false
	}
	w.ix.entries = append(w.ix.entries, &e)
	return true
}

// readlinkAt reads the target of the symlink path in the directory open as dfd (-1: path as
// it is).
func readlinkAt(dfd int, path string) (string, error) {
	buf := make([]byte, wire.MaxTargetLen+1)
	var n int
	var err error
	if dfd < 0 {
		n, err = unix.Readlink(path, buf)
	} else {
		n, err = unix.Readlinkat(dfd, filepath.Base(path), buf)
	}
	if err != nil {
		return "", &os.PathError{Op: "readlinkat", Path: path, Err: err}
	}
	return string(buf[:n]), nil
}

// unreadable skips the entry at path, which could not be read, and marks the directory dir
// (a share name) incomplete, so that receivers delete nothing below it.
func (w *walker) unreadable(path, dir, why string) {
	w.skip(path, why)
	w.ix.markIncomplete(dir)
}

// parentName returns the share name of the directory holding name, or "" for the share.
func parentName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return ""
}

func (w *walker) skip(p, why string) {
	w.ix.Skipped++
	if w.opt.Logger != nil {
		w.opt.Logger.Warn("not serving", "path", p, "reason", why)
	}
}
