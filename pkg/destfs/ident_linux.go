package destfs

import (
	"io/fs"
	"syscall"
)

func identityOf(fi fs.FileInfo) (Identity, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Identity{}, false
	}
	return Identity{Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: st.Size, //nolint:unconvert
		MTime: st.Mtim.Nano(), CTime: st.Ctim.Nano()}, true
}
