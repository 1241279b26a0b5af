package follow

import (
	"io/fs"
	"os"
	"sync"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/destfs"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/wire"
)

// localIndex is what the follower knows of the files it applied: by path in DST, the content
// it applied and the file as it was right after. A file still the same (same file, size and
// modification time) is vouched for (receiver.Config.Known) and not hashed again, so a pass
// reads only the files that changed, on the server or locally, not the whole mirror.
//
// For large files it also keeps the leaf hashes it applied (at most treeBudget bytes of them
// in all): when such a file changes on the server, the fetch takes its local tree from here
// (receiver.Config.LocalTree) as long as the file still has the identity it had (inode, size,
// modification and change time), clones it inside the kernel and hashes only the blocks it
// fetched, instead of reading and hashing the whole copy twice. One 4 KiB change to a 512 MiB
// file then costs a follower a copy, not 1 GiB of hashing. The leaves live in memory only: a
// restarted follower hashes such a file once, at its next change.
type localIndex map[string]applied

// applied is one file of the index.
type applied struct {
	c      content
	fi     fs.FileInfo
	id     destfs.Identity // fi's, with the change time (zero: unknown)
	leaves []merkle.Hash   // the file's leaf hashes, for the large ones (see localIndex)
	bs     int             // their block size
}

const (
	// keepLeavesFrom is the least block count of a file whose leaves the index keeps: smaller
	// files cost little to hash (16 MiB with 16 KiB blocks).
	keepLeavesFrom = 1024
	// keepLeavesUpTo is the most blocks of a file whose leaves the index keeps (8 MiB of
	// them: 4 GiB with 16 KiB blocks): the final check holds the file's whole tree, twice
	// that, while it hashes the assembled file, within the receiver's memory bound.
	keepLeavesUpTo = 1 << 18
	// treeBudget bounds the leaf hashes the index keeps (32 MiB: the trees of 16 GiB of
	// files with 16 KiB blocks).
	treeBudget = 32 << 20
)

// record returns the record of the file at rel in root after a pass applied e there, with
// the leaves the pass kept of it, or those of prev (the record before the pass) if its
// content is e's; false if rel is not that file.
func record(root *os.Root, rel string, e wire.Entry, kept *keptLeaves, prev applied) (applied, bool) {
	fi, err := root.Lstat(rel)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != e.Size {
		return applied{}, false
	}
	a := applied{c: contentOf(e), fi: fi}
	id, ok := destfs.IdentityOf(fi)
	if !ok {
		return a, true
	}
	a.id = id
	l, bs := kept.take(rel), e.BlockSize()
	if l == nil && prev.leaves != nil && prev.c == a.c {
		l, bs = prev.leaves, prev.bs // the same content (its attributes changed)
	}
	if s, err := merkle.NewShape(e.Size, bs); l != nil && err == nil && s.Blocks() == len(l) {
		a.leaves, a.bs = l, bs
	}
	return a, true
}

// indexAfter records the files of sel as they are in root after a pass applied them.
func indexAfter(root *os.Root, sel map[string]wire.Entry, kept *keptLeaves) localIndex {
	idx := localIndex{}
	for rel, e := range sel {
		if e.Type != wire.EntryFile {
			continue
		}
		if a, ok := record(root, rel, e, kept, applied{}); ok {
			idx[rel] = a
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

// tree returns the tree of the file at rel (fi its Stat) when the index kept its leaves and
// the file still has the identity it had when they were recorded (receiver.Config.LocalTree).
func (idx localIndex) tree(rel string, fi fs.FileInfo, _ wire.Entry) *merkle.Tree {
	a, ok := idx[rel]
	if !ok || a.leaves == nil {
		return nil
	}
	if id, ok := destfs.IdentityOf(fi); !ok || id != a.id {
		return nil
	}
	s, err := merkle.NewShape(fi.Size(), a.bs)
	if err != nil || s.Blocks() != len(a.leaves) {
		return nil
	}
	t, err := merkle.FromLeaves(s, a.leaves)
	if err != nil {
		return nil
	}
	return t
}

// treeBytes returns the bytes of leaf hashes the index keeps, less those of the files in
// replaced (about to be recorded again).
func (idx localIndex) treeBytes(replaced []string) int64 {
	var n int64
	for _, a := range idx {
		n += int64(len(a.leaves)) * merkle.HashSize
	}
	for _, rel := range replaced {
		n -= int64(len(idx[rel].leaves)) * merkle.HashSize
	}
	return n
}

// moved records renames done in place (through root): the moved file keeps its identity and
// content, but a rename moves its change time, which is taken again.
func (idx localIndex) moved(root *os.Root, moves []move) {
	for _, mv := range moves {
		a, ok := idx[mv.from]
		if !ok {
			continue
		}
		delete(idx, mv.from)
		if fi, err := root.Lstat(mv.to); err == nil && os.SameFile(fi, a.fi) && fi.Size() == a.fi.Size() && fi.ModTime().Equal(a.fi.ModTime()) {
			if id, ok := destfs.IdentityOf(fi); ok && a.id != (destfs.Identity{}) {
				a.id = id
			}
		}
		idx[mv.to] = a
	}
}

// keptLeaves collects, during a pass, the leaves of the large files the fetch completed
// (receiver.Config.KeepLeaves and FileResult.Leaves), within what the budget leaves.
type keptLeaves struct {
	mu     sync.Mutex
	left   int64 // bytes the budget still has
	leaves map[string][]merkle.Hash
}

func newKeptLeaves(left int64) *keptLeaves {
	return &keptLeaves{left: left, leaves: map[string][]merkle.Hash{}}
}

// want reports whether the leaves of a completed file with entry e are to be kept, and
// reserves their room.
func (k *keptLeaves) want(e wire.Entry) bool {
	s, err := merkle.NewShape(e.Size, e.BlockSize())
	if err != nil || s.Blocks() < keepLeavesFrom || s.Blocks() > keepLeavesUpTo {
		return false
	}
	n := int64(s.Blocks()) * merkle.HashSize
	k.mu.Lock()
	defer k.mu.Unlock()
	if n > k.left {
		return false
	}
	k.left -= n
	return true
}

// add takes a completed file's leaves (receiver.Config.OnFile).
func (k *keptLeaves) add(r receiver.FileResult) {
	if r.Leaves == nil {
		return
	}
	k.mu.Lock()
	k.leaves[r.Rel] = r.Leaves
	k.mu.Unlock()
}

// take returns and forgets rel's leaves (nil k: none).
func (k *keptLeaves) take(rel string) []merkle.Hash {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.leaves[rel]
	delete(k.leaves, rel)
	return l
}
