package follow

import (
	"io/fs"
	"os"

	"github.com/lcsync/lcsync/pkg/wire"
)

// localIndex is what the follower knows of the files it applied: by path in DST, the content
// it applied and the file as it was right after. A file still the same (same file, size and
// modification time) is vouched for (receiver.Config.Known) and not hashed again, so a pass
// reads only the files that changed, on the server or locally, not the whole mirror.
type localIndex map[string]applied

// applied is one file of the index.
type applied struct {
	c  content
	fi fs.FileInfo
}

// indexAfter records the files of sel as they are in root after a pass applied them.
func indexAfter(root *os.Root, sel map[string]wire.Entry) localIndex {
	idx := localIndex{}
	for rel, e := range sel {
		if e.Type != wire.EntryFile {
			continue
		}
		if fi, err := root.Lstat(rel); err == nil && fi.Mode().IsRegular() && fi.Size() == e.Size {
			idx[rel] = applied{c: contentOf(e), fi: fi}
		}
	}
	return idx
}

// vouch reports whether the file at rel (fi its Lstat) is the one the follower applied with
// e's content and has not changed since.
func (idx localIndex) vouch(rel string, fi fs.FileInfo, e wire.Entry) bool {
	a, ok := idx[rel]
	return ok && a.c == contentOf(e) && os.SameFile(a.fi, fi) && a.fi.Size() == fi.Size() && a.fi.ModTime().Equal(fi.ModTime())
}

// moved records renames done in place: the moved file keeps its identity and content.
func (idx localIndex) moved(moves []move) {
	for _, mv := range moves {
		if a, ok := idx[mv.from]; ok {
			delete(idx, mv.from)
			idx[mv.to] = a
		}
	}
}
