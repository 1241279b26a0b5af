package destfs

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// Dir is an open directory of the destination; its entries are named by their base name.
type Dir struct {
	root    *os.Root
	file    *os.File // the directory itself, for fsync and times
	ownFile bool     // file was opened by Dir and is closed by Close
}

// NewDir wraps a directory opened as a root. file is the same directory opened as a file, or
// nil to have it opened when needed.
func NewDir(root *os.Root, file *os.File) *Dir {
	return &Dir{root: root, file: file}
}

// Root returns the directory as a root.
func (d *Dir) Root() *os.Root { return d.root }

// File returns the directory opened as a file.
func (d *Dir) File() (*os.File, error) {
	if d.file == nil {
		f, err := d.root.Open(".")
		if err != nil {
			return nil, err
		}
		d.file, d.ownFile = f, true
	}
	return d.file, nil
}

// Sync fsyncs the directory, making the renames into it durable.
func (d *Dir) Sync() error {
	f, err := d.File()
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return &fs.PathError{Op: "sync", Path: ".", Err: unwrapPath(err)}
	}
	return nil
}

// SetMtime sets the modification time of entry name (not following a symbolic link) and
// leaves its access time alone. name "." is the directory itself.
func (d *Dir) SetMtime(name string, t time.Time) error {
	f, err := d.File()
	if err == nil {
		err = setMtime(f, name, t)
	}
	if err != nil {
		return &fs.PathError{Op: "set times", Path: name, Err: unwrapPath(err)}
	}
	return nil
}

// Apply applies a to the existing entry name. The mode is set through the root (a symbolic
// link there is followed, inside the destination), the time on the entry itself.
func (d *Dir) Apply(name string, a Attrs) error {
	if a.Owner.any() {
		uid, gid := a.Owner.chownArgs()
		if err := d.root.Lchown(name, uid, gid); err != nil {
			return &fs.PathError{Op: "chown", Path: name, Err: unwrapPath(err)}
		}
	}
	if a.SetMode {
		if err := d.root.Chmod(name, a.mode()); err != nil {
			return &fs.PathError{Op: "chmod", Path: name, Err: unwrapPath(err)}
		}
	}
	if a.SetMTime {
		return d.SetMtime(name, a.MTime)
	}
	return nil
}

// Commit puts the temporary file f, named tmp in d, in place as name: it applies a's owner and mode,
// fsyncs, applies a's time, calls ready (if not nil: to clear the way), renames tmp over name
// and closes f. f is closed whatever happens, and tmp removed on any failure. The directory
// still has to be synced for the rename to be durable (see Dirs).
func (d *Dir) Commit(f *os.File, tmp, name string, a Attrs, ready func() error) error {
	err := d.commit(f, tmp, name, a, ready)
	if err != nil {
		_ = d.root.Remove(tmp)
	}
	return err
}

func (d *Dir) commit(f *os.File, tmp, name string, a Attrs, ready func() error) error {
	fail := func(op string, err error) error {
		_ = f.Close()
		return &fs.PathError{Op: op, Path: tmp, Err: unwrapPath(err)}
	}
	if a.Owner.any() {
		uid, gid := a.Owner.chownArgs()
		if err := f.Chown(uid, gid); err != nil {
			return fail("chown", err)
		}
	}
	if a.SetMode {
		if err := f.Chmod(a.mode()); err != nil {
			return fail("chmod", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fail("sync", err)
	}
	if a.SetMTime {
		if err := d.SetMtime(tmp, a.MTime); err != nil {
			_ = f.Close()
			return err
		}
	}
	// f stays open, and so locked (LockTemp), until it has its final name: a temporary file
	// closed but not renamed yet would look stale to a sweep (SweepTemps) by another fetch or
	// sync into this directory.
	if ready != nil {
		if err := ready(); err != nil {
			_ = f.Close()
			return err
		}
	}
	if err := d.root.Rename(tmp, name); err != nil {
		_ = f.Close()
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err
		}
		return &fs.PathError{Op: "rename", Path: name, Err: unwrapPath(err)}
	}
	if err := f.Close(); err != nil {
		return &fs.PathError{Op: "close", Path: name, Err: unwrapPath(err)}
	}
	return nil
}

// Close closes the directory file if Dir opened it; the root stays open (its owner closes it).
func (d *Dir) Close() error {
	if d.ownFile && d.file != nil {
		err := d.file.Close()
		d.file, d.ownFile = nil, false
		return err
	}
	return nil
}
