//go:build darwin || netbsd

package destfs

import (
	"time"

	"golang.org/x/sys/unix"
)

// keepAtime is the access time to pass with a new modification time mt: without UTIME_OMIT
// here, the access time becomes mt too.
func keepAtime(mt time.Time) unix.Timespec { return unix.NsecToTimespec(mt.UnixNano()) }
