package index

import (
	"os"
	"sort"
	"strings"
)

// A file renamed within the share (mv big.iso archive/) reaches the updater as a name gone and
// a name new. Hashing the new name again would cost the whole file (a second or more for a
// few GiB) for content that did not change, so a new name whose file is the inode of an old
// file gone in the same update, with the same size and modification time, keeps that file's
// tree. The change time cannot be compared (a rename sets it); a rewrite that also restores
// the modification time and renames the file in the same batch would keep a stale tree, which
// receivers then refuse block by block (every block is checked against its leaf), until the
// file's next change or a rescan (SIGHUP).

// inode names a file on the machine.
type inode struct{ dev, ino uint64 }

// reuseMoved gives each file waiting to be hashed that is an old file renamed in this update
// the old file's tree, and takes it off the list; it returns how many it took. The stamps
// must be settled (settleStamps): a file written in the same tick as its stamp is hashed.
func (u *updater) reuseMoved() int {
	gone := u.goneFiles()
	if len(gone) == 0 {
		return 0
	}
	n := 0
	for name, before := range u.pre {
		up, ok := u.ups[name]
		if !ok || up.f == nil {
			continue
		}
		f := up.f
		old := gone[inode{f.id.dev, f.id.ino}]
		if old == nil || old.Tree == nil || old.Tree.Broken() || old.Entry.BlockShift != f.Entry.BlockShift ||
			old.id.size != f.id.size || old.id.mtime != f.id.mtime ||
			before.size != f.id.size || before.mtime != f.id.mtime || before.racy() {
			continue
		}
		info, err := os.Lstat(f.Path())
		if err != nil || !info.Mode().IsRegular() {
			continue // vanished or replaced meanwhile: hashed (or dropped) as usual
		}
		if now := stampOf(info); now.size != f.id.size || now.mtime != f.id.mtime || before.ctime >= 0 && now.ctime != before.ctime {
			continue
		}
		g := *f
		g.Tree = old.Tree                                         // immutable, shared as hashAll shares unchanged files
		g.Entry.Size, g.Entry.Top = old.Entry.Size, old.Entry.Top // what hashing would have set
		u.set(g.Entry, &g)
		delete(u.pre, name)
		delete(gone, inode{f.id.dev, f.id.ino}) // one tree per new name: a second link is hashed
		n++
	}
	return n
}

// goneFiles returns, by inode, the old index's files that this update removed: by name, or
// below a directory removed whole.
func (u *updater) goneFiles() map[inode]*File {
	gone := map[inode]*File{}
	add := func(f *File) {
		if _, still := u.lookup(f.Entry.Name); !still {
			gone[inode{f.id.dev, f.id.ino}] = f
		}
	}
	for name, up := range u.ups {
		if up.removed {
			if f := u.oldFile(name); f != nil {
				add(f)
			}
		}
	}
	old := u.old.Files
	for _, d := range u.dirs {
		lo := sort.Search(len(old), func(i int) bool { return old[i].Entry.Name >= d+"/" })
		for i := lo; i < len(old) && strings.HasPrefix(old[i].Entry.Name, d+"/"); i++ {
			add(old[i])
		}
	}
	return gone
}
