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
//
// A sweep may hold the lock of a file just created for an instant (to tell whether its maker
// is alive, see [SweepTemps]), so LockTemp retries for a while before it gives up.
func LockTemp(f *os.File) error {
	var err error
	for range lockTries {
		if err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err != nil {
		return &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return nil
}

// lockTries bounds LockTemp's attempts, a millisecond apart.
const lockTries = 100

// SweepTemps removes the stale temporary files of lcsync from the directory d: entries with a
// temporary name ([IsTemp], but not a [KeptName]) that are regular files owned by this process's user, unchanged
// for age (callers pass [StaleAge]), and that nobody holds locked, which proves that the lcsync process that
// created them (and locked them, see [OpenTemp]) is gone: killed, or its machine crashed. A temporary file another
// fetch or sync is writing is locked, and stays. It returns how many it removed and, when
// unlocked temporary files of ours were too recent to be taken (a run killed a moment ago,
// then started again), how long to wait before a second sweep takes them; errors on single
// entries are skipped (the entry stays), only failing to list d is an error.
func SweepTemps(d *os.Root, age time.Duration) (removed int, again time.Duration, err error) {
	dir, err := d.Open(".")
	if err != nil {
		return 0, 0, err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return 0, 0, &fs.PathError{Op: "readdir", Path: ".", Err: unwrapPath(err)}
	}
	for _, name := range names {
		if !IsTemp(name) || isKept(name) {
			continue
		}
		ok, wait := stale(d, name, age)
		if ok && d.Remove(name) == nil {
			removed++
		}
		again = max(again, wait)
	}
	return removed, again, nil
}

// StaleAge is how long a temporary file must have been left unchanged before a sweep takes
// it for stale: a file is created before it can be locked, and a sweep must not take the
// moment between for the end of its maker.
const StaleAge = 5 * time.Second

// stale reports whether the temporary file name in d is a regular file of ours that no
// process holds locked and that has not changed for age; if it is one that has changed more
// recently, wait is how long until it will have been unchanged for age.
func stale(d *os.Root, name string, age time.Duration) (ok bool, wait time.Duration) {
	f, err := d.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false, 0
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false, 0
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || int(st.Uid) != os.Geteuid() {
		return false, 0
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) || err != nil {
		return false, 0 // in use (or locks do not work here: leave it)
	}
	if since := time.Since(time.Unix(st.Ctim.Unix())); since < age {
		// Maybe just created and about to be locked by its maker (which retries while our
		// lock, released at once with f, is held: LockTemp); a second sweep can tell.
		return false, age - since
	}
	return true, 0 // our lock goes with f.Close
}
