//go:build !linux

package destfs

import "io/fs"

// identityOf is Linux-only: elsewhere a follower hashes local copies as a fetch does.
func identityOf(fs.FileInfo) (Identity, bool) { return Identity{}, false }
