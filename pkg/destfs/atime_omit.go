//go:build aix || dragonfly || freebsd || linux || openbsd || solaris

package destfs

import (
	"time"

	"golang.org/x/sys/unix"
)

// keepAtime is the access time to pass with a new modification time: UTIME_OMIT, which leaves
// it alone.
func keepAtime(time.Time) unix.Timespec { return unix.Timespec{Nsec: unix.UTIME_OMIT} }
