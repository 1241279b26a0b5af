package destfs

import "io/fs"

// Identity is what a regular file looks like from outside: the inode it is, its size, and its
// modification and change times (nanoseconds). No write leaves it as it was: a write with the
// modification time set back still moves the change time, which no user can set back. A
// follower records it for the files it applied, and trusts what it knows of a file (its tree)
// only while the file still has it.
type Identity struct {
	Dev, Ino           uint64
	Size, MTime, CTime int64
}

// IdentityOf returns the identity behind fi (an Lstat's or Stat's), and false where the
// platform does not say (then nothing can be vouched for).
func IdentityOf(fi fs.FileInfo) (Identity, bool) {
	if fi == nil {
		return Identity{}, false
	}
	return identityOf(fi)
}
