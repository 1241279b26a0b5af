package index

import (
	"io/fs"
	"syscall"
)

// ctimeOf returns the change time behind info.
func ctimeOf(info fs.FileInfo) (int64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Ctim.Nano(), true
}
