package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrChanged is wrapped by the errors of File.Open and File.Changed when the name no longer
// leads to the regular file that was hashed: it was modified, replaced (by another file, a
// symlink, a FIFO...) or removed.
var ErrChanged = errors.New("index: file changed since it was indexed")

// identity is what a file looked like when it was hashed: the inode it was, and its size,
// modification time and change time. A file whose identity differs is not the file whose
// tree the index holds. The change time catches a rewrite with the modification time set
// back (touch -r, rsync -t --inplace), which no user can set back.
type identity struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

func identityOf(st *unix.Stat_t) identity {
	return identity{
		dev:   uint64(st.Dev), //nolint:unconvert // Dev is not uint64 everywhere
		ino:   uint64(st.Ino), //nolint:unconvert
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
	}
}

func (id identity) modTime() time.Time { return time.Unix(0, id.mtime) }

// isRegular reports whether a stat mode is that of a regular file.
func isRegular(mode uint32) bool { return mode&unix.S_IFMT == unix.S_IFREG }

// Flags of every open: no symlink is followed, no FIFO or device blocks the open, and no
// descriptor leaks into child processes.
const (
	openDir  = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	openFile = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
)

// openParent opens the directory that holds rel (slash-separated, relative to the directory
// root) one component at a time, never following a symlink, and returns its descriptor and
// rel's last component. The root itself is opened by path (it is the operator's argument).
func openParent(root, rel string) (int, string, error) {
	dfd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", &os.PathError{Op: "open", Path: root, Err: err}
	}
	parts := strings.Split(rel, "/")
	for i, p := range parts[:len(parts)-1] {
		nfd, err := unix.Openat(dfd, p, openDir, 0)
		unix.Close(dfd)
		if err != nil {
			return -1, "", &os.PathError{Op: "openat", Path: filepath.Join(root, filepath.FromSlash(strings.Join(parts[:i+1], "/"))), Err: err}
		}
		dfd = nfd
	}
	return dfd, parts[len(parts)-1], nil
}

// lstatBeneath returns the stat of rel below root without following any symlink.
func lstatBeneath(root, rel string) (unix.Stat_t, error) {
	var st unix.Stat_t
	if rel == "" { // a single-file share: the argument itself, followed
		if err := unix.Stat(root, &st); err != nil {
			return st, &os.PathError{Op: "stat", Path: root, Err: err}
		}
		return st, nil
	}
	dfd, name, err := openParent(root, rel)
	if err != nil {
		return st, err
	}
	defer unix.Close(dfd)
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return st, &os.PathError{Op: "fstatat", Path: filepath.Join(root, filepath.FromSlash(rel)), Err: err}
	}
	return st, nil
}

// openBeneath opens rel below root for reading without following any symlink and without
// blocking (a FIFO opens at once), and returns the open file with its fstat. The caller
// checks the type: only a regular file may be read.
func openBeneath(root, rel string) (*os.File, unix.Stat_t, error) {
	var st unix.Stat_t
	path := filepath.Join(root, filepath.FromSlash(rel))
	var fd int
	var err error
	if rel == "" { // a single-file share: the argument itself, followed
		fd, err = unix.Open(root, openFile&^unix.O_NOFOLLOW, 0)
	} else {
		var dfd int
		var name string
		if dfd, name, err = openParent(root, rel); err != nil {
			return nil, st, err
		}
		fd, err = unix.Openat(dfd, name, openFile, 0)
		unix.Close(dfd)
	}
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, st, fmt.Errorf("%w: %s is a symlink now", ErrChanged, path)
		}
		return nil, st, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, st, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if !isRegular(uint32(st.Mode)) {
		unix.Close(fd)
		return nil, st, fmt.Errorf("%w: %s is no longer a regular file", ErrChanged, path)
	}
	return os.NewFile(uintptr(fd), path), st, nil
}

// Open opens f for reading blocks: relative to the share's directory, following no symlink,
// never blocking, and only if it is still the very file that was hashed (same device and
// inode, size, modification and change time). Otherwise the error wraps ErrChanged (or is
// the error of the open), and nothing of whatever the name now leads to is read.
func (f *File) Open() (*os.File, error) {
	fh, st, err := openBeneath(f.root, f.rel)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if identityOf(&st) != f.id {
		fh.Close()
		return nil, fmt.Errorf("index: %w: %s", ErrChanged, f.Path())
	}
	return fh, nil
}
