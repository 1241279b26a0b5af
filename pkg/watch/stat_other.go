//go:build !linux

package watch

import "io/fs"

// inodeAndCtime is Linux-only here: elsewhere polling compares size, mtime and mode only.
func inodeAndCtime(fs.FileInfo) (ino uint64, ctime int64, ok bool) { return 0, 0, false }
