//go:build unix

package follow

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive advisory lock (flock) on f, held until f is closed or the
// process ends. It says "in use": a second follower of the same mirror is refused, and
// lcsync's sweep of stale temporary files (the state file has a temporary name) leaves it.
// errBusy means another process holds it.
func lockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errBusy
	}
	return err
}
