package blake2s

import "golang.org/x/sys/unix"

// threadCPU returns the CPU time (user+sys) the calling OS thread has used,
// in nanoseconds, or 0 if it cannot be had.
func threadCPU() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
