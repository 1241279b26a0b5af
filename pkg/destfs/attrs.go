package destfs

import (
	"io/fs"
	"time"
)

// Attrs are the attributes applied to a destination entry. They are applied in one place
// ([Dir.Commit] for a new file, [Dir.Apply] for an existing entry), which is where ownership
// and the clearing of setuid and setgid bits belong when they are added.
type Attrs struct {
	// Mode, if SetMode, is applied: permission bits with setuid, setgid and sticky.
	Mode    fs.FileMode
	SetMode bool
	// MTime, if SetMTime, is applied as the modification time; the access time is left alone.
	MTime    time.Time
	SetMTime bool
}

// ModeOf converts Unix mode bits (07777: permissions, setuid, setgid, sticky) to an
// fs.FileMode.
func ModeOf(bits uint32) fs.FileMode {
	m := fs.FileMode(bits & 0o777)
	if bits&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if bits&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if bits&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// ModeBits returns the permission, setuid, setgid and sticky bits of fi.
func ModeBits(fi fs.FileInfo) fs.FileMode {
	return fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
