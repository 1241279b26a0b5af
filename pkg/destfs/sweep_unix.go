//go:build unix

package destfs

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// LockTemp takes an exclusive advisory lock (flock) on a temporary file just created, which
// says "in use" for as long as the process that made it lives: the kernel drops it when the
// process dies, however it dies. [SweepTemps] relies on it. [OpenTemp] locks the files it
// makes; a caller that creates temporary files another way locks them with LockTemp.
func LockTemp(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err != nil {
		return &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return nil
}

// SweepTemps removes the stale temporary files of lcsync from the directory d: entries with a
// temporary name ([IsTemp]) that are regular files owned by this process's user, unchanged
// for age (callers pass [StaleAge]), and that nobody holds locked, which proves that the lcsync process that
// created them (and locked them, see [OpenTemp]) is gone: killed, or its machine crashed. A temporary file another
// fetch or sync is writing is locked, and stays. It returns how many it removed; errors on
// single entries are skipped (the entry stays), only failing to list d is an error.
func SweepTemps(d *os.Root, age time.Duration) (int, error) {
	dir, err := d.Open(".")
	if err != nil {
		return 0, err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return 0, &fs.PathError{Op: "readdir", Path: ".", Err: unwrapPath(err)}
	}
	removed := 0
	for _, name := range names {
		if !IsTemp(name) {
			continue
		}
		if stale(d, name, age) && d.Remove(name) == nil {
			removed++
		}
	}
	return removed, nil
}

// StaleAge is how long a temporary file must have been left unchanged before a sweep takes
// it for stale: a file is created before it can be locked, and a sweep must not take the
// moment between for the end of its maker.
const StaleAge = 5 * time.Second

// stale reports whether the temporary file name in d is a regular file of ours that no
// process holds locked and that has not changed for age.
func stale(d *os.Root, name string, age time.Duration) bool {
	f, err := d.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || int(st.Uid) != os.Geteuid() {
		return false
	}
	if time.Since(time.Unix(st.Ctim.Unix())) < age {
		return false // maybe just created, and about to be locked (OpenTemp)
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) || err != nil {
		return false // in use (or locks do not work here: leave it)
	}
	return true // our lock goes with f.Close
}
