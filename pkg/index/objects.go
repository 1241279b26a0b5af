package index

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lcsync/lcsync/pkg/wire"
)

// dirNode is one directory of the share as its tree object (PROTOCOL.md §5.1): the encoded
// object, its id and the nodes of its subdirectories. Nodes are immutable once built, so an
// updated index shares every node whose directory did not change with the index before it,
// and an update builds new nodes only on the paths from the changed entries to the root.
type dirNode struct {
	blob     []byte
	id       [wire.HashLen]byte
	pages    [][]byte            // a large directory's pages (wire.EncodeDirectory), nil for most
	children map[string]*dirNode // by name component: the nodes of the directory entries
}

// buildTree builds the tree objects of a directory share from its sorted entries: the share's
// own entry first, then the rest. It returns nil for a single-file share.
func buildDirTree(share string, entries []wire.Entry) (*dirNode, error) {
	if len(entries) == 0 || entries[0].Name != share || entries[0].Type != wire.EntryDir {
		return nil, nil
	}
	children := map[string][]wire.ObjectEntry{}
	for _, e := range entries[1:] {
		i := strings.LastIndexByte(e.Name, '/')
		oe := wire.ObjectEntry{Entry: e}
		oe.Name = e.Name[i+1:]
		children[e.Name[:i]] = append(children[e.Name[:i]], oe)
	}
	var build func(dir string) (*dirNode, error)
	build = func(dir string) (*dirNode, error) {
		es := children[dir]
		sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
		n := &dirNode{}
		for i := range es {
			if es[i].Type != wire.EntryDir {
				continue
			}
			child, err := build(dir + "/" + es[i].Name)
			if err != nil {
				return nil, err
			}
			es[i].ID = child.id
			n.setChild(es[i].Name, child)
		}
		return n, n.encode(dir, es)
	}
	return build(share)
}

// setChild records the node of directory entry name.
func (n *dirNode) setChild(name string, child *dirNode) {
	if n.children == nil {
		n.children = map[string]*dirNode{}
	}
	n.children[name] = child
}

// encode sets n's object to the sorted entries of directory dir.
func (n *dirNode) encode(dir string, entries []wire.ObjectEntry) error {
	objs, err := wire.EncodeDirectory(entries)
	if err != nil {
		return fmt.Errorf("index: directory %s: %w", dir, err)
	}
	n.blob, n.id, n.pages = objs[0], wire.ObjectID(objs[0]), objs[1:]
	if len(n.pages) == 0 {
		n.pages = nil
	}
	return nil
}

// entries decodes n's object, the object of directory dir.
func (n *dirNode) entries(dir string) ([]wire.ObjectEntry, error) {
	if n.pages == nil {
		o, err := wire.UnmarshalObject(n.blob)
		if err != nil {
			return nil, fmt.Errorf("index: directory %s: %w", dir, err)
		}
		return o.Entries, nil
	}
	var es []wire.ObjectEntry
	for _, p := range n.pages {
		o, err := wire.UnmarshalObject(p)
		if err != nil {
			return nil, fmt.Errorf("index: directory %s: %w", dir, err)
		}
		es = append(es, o.Entries...)
	}
	return es, nil
}

// treeUpdate rebuilds the nodes of the directories an update touched, on top of the old tree.
type treeUpdate struct {
	entries []wire.Entry        // the new index's sorted entries
	changed map[string][]string // directory name -> names of its entries added, changed or removed
	dirty   map[string]bool     // directories to rebuild: those in changed, their ancestors, new ones
	fresh   map[string]bool     // directories removed (and maybe walked again): not built on their old node
}

// updateTree returns the tree of an index whose entries are entries, built from the tree old
// of the index before it, given the names that changed (added, changed or removed) and the
// directories that were removed whole. Only the directories on the paths from the changed
// names to the root are encoded again; every other node is shared with old.
func updateTree(old *dirNode, share string, entries []wire.Entry, changedNames []string, removedDirs []string) (*dirNode, error) {
	if old == nil {
		return buildDirTree(share, entries)
	}
	u := treeUpdate{entries: entries, changed: map[string][]string{}, dirty: map[string]bool{share: true}, fresh: map[string]bool{}}
	for _, d := range removedDirs {
		u.fresh[d] = true
	}
	for _, name := range changedNames {
		if name == share {
			continue // the share's own entry is the manifest's, not an object's
		}
		if e, ok := u.lookup(name); ok && e.Type == wire.EntryDir {
			u.markDirty(name) // new, or walked again: built even when empty
		}
		dir := parentName(name)
		u.changed[dir] = append(u.changed[dir], name[len(dir)+1:])
		u.markDirty(dir)
	}
	return u.rebuild(share, old, false)
}

// markDirty marks dir and its ancestors.
func (u *treeUpdate) markDirty(dir string) {
	for dir != "" && !u.dirty[dir] {
		u.dirty[dir] = true
		dir = parentName(dir)
	}
}

// lookup returns the new index's entry called name.
func (u *treeUpdate) lookup(name string) (wire.Entry, bool) {
	i := sort.Search(len(u.entries), func(i int) bool { return u.entries[i].Name >= name })
	if i < len(u.entries) && u.entries[i].Name == name {
		return u.entries[i], true
	}
	return wire.Entry{}, false
}

// rebuild returns the node of directory dir, whose node in the old tree is old (nil when it
// had none, or when it or a directory above it was removed: fresh).
func (u *treeUpdate) rebuild(dir string, old *dirNode, fresh bool) (*dirNode, error) {
	fresh = fresh || u.fresh[dir]
	if !u.dirty[dir] && !fresh && old != nil {
		return old, nil
	}
	var entries []wire.ObjectEntry
	if old != nil && !fresh {
		var err error
		if entries, err = old.entries(dir); err != nil {
			return nil, err
		}
	}
	if names := u.changed[dir]; len(names) > 0 {
		entries = u.apply(dir, entries, names)
	}
	n := &dirNode{}
	for i := range entries {
		e := &entries[i]
		if e.Type != wire.EntryDir {
			continue
		}
		var oldChild *dirNode
		if old != nil && !fresh {
			oldChild = old.children[e.Name]
		}
		child, err := u.rebuild(dir+"/"+e.Name, oldChild, fresh)
		if err != nil {
			return nil, err
		}
		e.ID = child.id
		n.setChild(e.Name, child)
	}
	return n, n.encode(dir, entries)
}

// apply returns the sorted entries of directory dir with the entries called names (one
// component each) as the new index has them: replaced, added or removed. It costs one pass
// over entries and a lookup per name.
func (u *treeUpdate) apply(dir string, entries []wire.ObjectEntry, names []string) []wire.ObjectEntry {
	now := make(map[string]*wire.ObjectEntry, len(names)) // nil: the name is gone
	for _, name := range names {
		if e, ok := u.lookup(dir + "/" + name); ok {
			oe := wire.ObjectEntry{Entry: e}
			oe.Name = name
			now[name] = &oe
		} else {
			now[name] = nil
		}
	}
	out := make([]wire.ObjectEntry, 0, len(entries)+len(names))
	for _, e := range entries {
		ne, changed := now[e.Name]
		switch {
		case !changed:
			out = append(out, e)
		case ne != nil:
			out = append(out, *ne)
		}
		delete(now, e.Name)
	}
	added := false
	for _, ne := range now {
		if ne != nil {
			out = append(out, *ne)
			added = true
		}
	}
	if added {
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	}
	return out
}

// TreeManifest returns the share's version 2 manifest (PROTOCOL.md §5.1) with the given flags
// and generation: the share's own entry, naming the object of its directory. It fails for a
// share without an entry of its own (a single file that could not be read).
func (ix *Index) TreeManifest(carousel bool, pageHeight uint8, generation uint64) (*wire.TreeManifest, error) {
	if len(ix.Entries) == 0 || ix.Entries[0].Name != ix.Share || ix.Entries[0].Type == wire.EntrySymlink {
		return nil, fmt.Errorf("index: share %s has no directory or file to serve", ix.Share)
	}
	m := &wire.TreeManifest{Carousel: carousel, PageHeight: pageHeight, Generation: generation,
		Root: wire.ObjectEntry{Entry: ix.Entries[0]}}
	if ix.tree != nil {
		m.Root.ID = ix.tree.id
	}
	return m, nil
}

// Objects calls fn with the id and encoding of every tree object of ix that old does not
// share (every object when old is nil). An object shared by several directories of ix may be
// passed more than once. Directories whose node old shares are not visited, so the cost is
// that of the objects passed, not of the share.
func (ix *Index) Objects(old *Index, fn func(id [wire.HashLen]byte, object []byte)) {
	var o *dirNode
	if old != nil {
		o = old.tree
	}
	visitNew(ix.tree, o, fn)
}

// visitNew calls fn for n and every node below it that is not the corresponding node of old.
func visitNew(n, old *dirNode, fn func(id [wire.HashLen]byte, object []byte)) {
	if n == nil || n == old {
		return
	}
	fn(n.id, n.blob)
	for _, p := range n.pages {
		fn(wire.ObjectID(p), p)
	}
	for name, child := range n.children {
		var oc *dirNode
		if old != nil {
			oc = old.children[name]
		}
		visitNew(child, oc, fn)
	}
}
