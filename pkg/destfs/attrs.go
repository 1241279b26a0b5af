package destfs

import (
	"io/fs"
	"time"
)

// Attrs are the attributes applied to a destination entry. They are applied in one place
// ([Dir.Commit] for a new file, [Dir.Apply] for an existing entry), owner first, so the mode
// is what it says whatever chown clears.
type Attrs struct {
	// Mode, if SetMode, is applied: permission bits with setuid, setgid and sticky, less the
	// setuid bit unless Owner.SetUID and the setgid bit unless Owner.SetGID (see [SafeMode]).
	Mode    fs.FileMode
	SetMode bool
	// Dir says the entry is a directory, whose setgid bit is kept (see [SafeMode]).
	Dir bool
	// Owner, if it sets anything, is applied before the mode.
	Owner Owner
	// MTime, if SetMTime, is applied as the modification time; the access time is left alone.
	MTime    time.Time
	SetMTime bool
}

// Owner is the ownership to give an entry: UID if SetUID, GID if SetGID.
type Owner struct {
	UID, GID       int
	SetUID, SetGID bool
}

// OwnerOf returns the owner and group of fi to keep, as asked by owner and group; nothing
// when the process is not root (only root may give files away, and rsync skips ownership
// silently then) or fi carries no owner.
func OwnerOf(fi fs.FileInfo, owner, group bool) Owner {
	uid, gid, ok := ids(fi)
	if !ok || !privileged() {
		return Owner{}
	}
	return Owner{UID: uid, GID: gid, SetUID: owner, SetGID: group}
}

// any reports whether o sets anything.
func (o Owner) any() bool { return o.SetUID || o.SetGID }

// chownArgs returns the ids to pass to chown: -1 for what is not set.
func (o Owner) chownArgs() (uid, gid int) {
	uid, gid = -1, -1
	if o.SetUID {
		uid = o.UID
	}
	if o.SetGID {
		gid = o.GID
	}
	return uid, gid
}

// SafeMode returns m without the setuid bit unless the owner is kept (keptUID), and without
// the setgid bit unless the group is kept (keptGID) or the entry is a directory (where setgid
// only makes new entries inherit the group). A set-id program copied without its owner would
// run as whoever owns the copy: a file any user could write into a share or a source tree
// would become setuid root on every host that fetches or syncs it as root (review H7), which
// cp -p avoids the same way.
func SafeMode(m fs.FileMode, dir, keptUID, keptGID bool) fs.FileMode {
	if !keptUID {
		m &^= fs.ModeSetuid
	}
	if !keptGID && !dir {
		m &^= fs.ModeSetgid
	}
	return m
}

// mode is the mode Attrs applies.
func (a Attrs) mode() fs.FileMode { return SafeMode(a.Mode, a.Dir, a.Owner.SetUID, a.Owner.SetGID) }

// Holds reports whether the entry fi describes has a's mode and time already, and a sets no
// owner: applying a would change nothing (but the entry's change time, and a system call or
// two a file).
func (a Attrs) Holds(fi fs.FileInfo) bool {
	if fi == nil || a.Owner.any() {
		return false
	}
	const bits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	return (!a.SetMode || fi.Mode()&bits == a.mode()) && (!a.SetMTime || fi.ModTime().Equal(a.MTime))
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
