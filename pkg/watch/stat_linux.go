package watch

import (
	"io/fs"
	"syscall"
)

// inodeAndCtime returns the inode number and change time behind info.
func inodeAndCtime(info fs.FileInfo) (ino uint64, ctime int64, ok bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return st.Ino, st.Ctim.Nano(), true
}
