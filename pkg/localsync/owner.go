package localsync

import (
	"io/fs"
	"os"

	"github.com/lcsync/lcsync/pkg/destfs"
)

// owner returns the ownership of source entry si that -o and -g keep (nothing unless the
// process runs as root).
func (s *syncer) owner(si fs.FileInfo) destfs.Owner {
	if !s.opt.Owner && !s.opt.Group {
		return destfs.Owner{}
	}
	return destfs.OwnerOf(si, s.opt.Owner, s.opt.Group)
}

// fileMode is the mode -p gives a copy of the source file si: its bits, less the set-id bits
// whose owner or group is not kept (review H7).
func (s *syncer) fileMode(si fs.FileInfo) fs.FileMode {
	own := s.owner(si)
	return destfs.SafeMode(destfs.ModeBits(si), false, own.SetUID, own.SetGID)
}

// sameOwner reports whether di already has the ownership o asks for.
func sameOwner(di fs.FileInfo, o destfs.Owner) bool {
	if !o.SetUID && !o.SetGID {
		return true
	}
	want := destfs.OwnerOf(di, true, true)
	return (!o.SetUID || want.UID == o.UID) && (!o.SetGID || want.GID == o.GID)
}

// setOwner gives the open file f the ownership o asks for, if any.
func setOwner(f *os.File, o destfs.Owner) error {
	if !o.SetUID && !o.SetGID {
		return nil
	}
	uid, gid := -1, -1
	if o.SetUID {
		uid = o.UID
	}
	if o.SetGID {
		gid = o.GID
	}
	return f.Chown(uid, gid)
}
