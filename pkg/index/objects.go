package index

import (
	"fmt"
	"maps"
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

// buildDirTree builds the tree objects of a directory share from its sorted entries: the
// share's own entry first, then the rest. It returns nil for a single-file share. Each
// directory's entries are gathered from the sorted list when its object is encoded (the
// subtree of a directory is a contiguous run of the list), so the build holds one
// directory's entries at a time beside the list, not a second copy of the share.
func buildDirTree(share string, entries []*wire.Entry) (*dirNode, error) {
	if len(entries) == 0 || entries[0].Name != share || entries[0].Type != wire.EntryDir {
		return nil, nil
	}
	// below returns the length of the run at the start of es whose names start with prefix.
	below := func(es []*wire.Entry, prefix string) int {
		return sort.Search(len(es), func(k int) bool { return !strings.HasPrefix(es[k].Name, prefix) })
	}
	var build func(dir string, es []*wire.Entry) (*dirNode, error)
	build = func(dir string, es []*wire.Entry) (*dirNode, error) {
		n := &dirNode{}
		var own []wire.ObjectEntry
		p := len(dir) + 1
		for i := 0; i < len(es); {
			e := es[i]
			rest := e.Name[p:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				i += below(es[i:], e.Name[:p+j+1]) // a subdirectory's run: built with its entry
				continue
			}
			oe := wire.ObjectEntry{Entry: *e}
			oe.Name = rest
			if e.Type == wire.EntryDir {
				prefix := e.Name + "/"
				lo := i + 1 + sort.Search(len(es)-i-1, func(k int) bool { return es[i+1+k].Name >= prefix })
				child, err := build(e.Name, es[lo:lo+below(es[lo:], prefix)])
				if err != nil {
					return nil, err
				}
				oe.ID = child.id
				n.setChild(rest, child)
			}
			own = append(own, oe)
			i++
		}
		return n, n.encode(dir, own)
	}
	return build(share, entries[1:])
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
	n.set(objs)
	return nil
}

// objects returns n's object followed by its pages, as wire.EncodeDirectory returns them.
func (n *dirNode) objects() [][]byte {
	return append([][]byte{n.blob}, n.pages...)
}

// set makes objs (a result of wire.EncodeDirectory) n's object and pages.
func (n *dirNode) set(objs [][]byte) {
	n.blob, n.id, n.pages = objs[0], wire.ObjectID(objs[0]), objs[1:]
	if len(n.pages) == 0 {
		n.pages = nil
	}
}

// objectCache keeps the objects an update decoded to look entries up, by their encoding: a
// burst of changes in one directory decodes its object (or page) once.
type objectCache map[*byte]*wire.Object

// lookup returns the entry called name (one component) of directory n, decoding only the
// page that can hold it.
func (n *dirNode) lookup(name string, cache objectCache) (wire.ObjectEntry, bool) {
	o := cache.decode(n.blob)
	if o == nil {
		return wire.ObjectEntry{}, false
	}
	if o.Paged() {
		i := sort.Search(len(o.Entries), func(i int) bool { return o.Entries[i].Name > name }) - 1
		if i < 0 || i >= len(n.pages) {
			return wire.ObjectEntry{}, false
		}
		if o = cache.decode(n.pages[i]); o == nil {
			return wire.ObjectEntry{}, false
		}
	}
	return o.Lookup(name)
}

// decode returns the decoded object b (nil if it cannot be decoded, which an object the index
// encoded itself always can).
func (c objectCache) decode(b []byte) *wire.Object {
	if len(b) == 0 {
		return nil
	}
	if o, ok := c[&b[0]]; ok {
		return o
	}
	o, err := wire.UnmarshalObject(b)
	if err != nil {
		o = nil
	}
	c[&b[0]] = o
	return o
}

// treeUpdate rebuilds the nodes of the directories an update touched, on top of the old tree.
type treeUpdate struct {
	lookup  func(name string) (wire.Entry, bool) // the new index's entry called name
	changed map[string][]string                  // directory name -> names of its entries added, changed or removed
	dirty   map[string]bool                      // directories to rebuild: those in changed, their ancestors, new ones
	kids    map[string][]string                  // directory name -> names of its dirty subdirectories
	fresh   map[string]bool                      // directories removed (and maybe walked again): not built on their old node
}

// updateTree returns the tree of the index whose entries lookup returns, built from the tree
// old of the index before it, given the names that changed (added, changed or removed) and
// the directories that were removed whole. Only the directories on the paths from the
// changed names to the root are encoded again, and of a paged directory only the pages the
// changes fall in (wire.UpdateDirectory); every other node is shared with old. So the cost
// is that of the changes, not of the share.
func updateTree(old *dirNode, share string, lookup func(string) (wire.Entry, bool), changedNames []string, removedDirs []string) (*dirNode, error) {
	u := treeUpdate{lookup: lookup, changed: map[string][]string{}, dirty: map[string]bool{share: true},
		kids: map[string][]string{}, fresh: map[string]bool{}}
	for _, d := range removedDirs {
		u.fresh[d] = true
	}
	if old == nil {
		u.fresh[share] = true
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
		parent := parentName(dir)
		if parent != "" {
			u.kids[parent] = append(u.kids[parent], dir[len(parent)+1:])
		}
		dir = parent
	}
}

// rebuild returns the node of directory dir, whose node in the old tree is old (nil when it
// had none, or when it or a directory above it was removed: fresh).
func (u *treeUpdate) rebuild(dir string, old *dirNode, fresh bool) (*dirNode, error) {
	fresh = fresh || u.fresh[dir]
	if !u.dirty[dir] && !fresh && old != nil {
		return old, nil
	}
	if fresh {
		old = nil
	}
	now := map[string]*wire.ObjectEntry{} // the entries of dir that change; nil: removed
	for _, name := range u.changed[dir] {
		now[name] = nil
		if e, ok := u.lookup(dir + "/" + name); ok {
			oe := wire.ObjectEntry{Entry: e}
			oe.Name = name
			now[name] = &oe
		}
	}
	n := &dirNode{}
	if old != nil && len(old.children) > 0 {
		n.children = maps.Clone(old.children)
	}
	for name, e := range now {
		if e == nil || e.Type != wire.EntryDir {
			delete(n.children, name)
		}
	}
	for _, name := range u.kids[dir] {
		e, ok := now[name]
		if !ok { // unchanged itself, something below it changed
			var cur wire.Entry
			if cur, ok = u.lookup(dir + "/" + name); !ok {
				continue
			}
			oe := wire.ObjectEntry{Entry: cur}
			oe.Name = name
			e = &oe
		}
		if e == nil || e.Type != wire.EntryDir {
			continue
		}
		var oc *dirNode
		if old != nil {
			oc = old.children[name]
		}
		child, err := u.rebuild(dir+"/"+name, oc, fresh)
		if err != nil {
			return nil, err
		}
		e.ID = child.id
		now[name] = e
		n.setChild(name, child)
	}
	changes := make([]wire.DirChange, 0, len(now))
	for name, e := range now {
		changes = append(changes, wire.DirChange{Name: name, Entry: e})
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Name < changes[j].Name })
	var objs [][]byte
	var err error
	if old == nil {
		es := make([]wire.ObjectEntry, 0, len(changes))
		for _, c := range changes {
			if c.Entry != nil {
				es = append(es, *c.Entry)
			}
		}
		objs, err = wire.EncodeDirectory(es)
	} else {
		objs, err = wire.UpdateDirectory(old.objects(), changes)
	}
	if err != nil {
		return nil, fmt.Errorf("index: directory %s: %w", dir, err)
	}
	n.set(objs)
	return n, nil
}

// EntryObject returns the id of the tree object that lists the entry called name: its
// directory's object, or for a large directory the page that holds it. Receivers fetch that
// object (new) before they fetch a changed file. It costs the path, and a paged directory's
// list of pages.
func (ix *Index) EntryObject(name string) ([wire.HashLen]byte, bool) {
	dir := parentName(name)
	if ix.tree == nil || dir == "" || !strings.HasPrefix(dir+"/", ix.Share+"/") {
		return [wire.HashLen]byte{}, false
	}
	n := ix.tree
	for _, c := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(dir, ix.Share), "/"), "/") {
		if c == "" {
			break
		}
		if n = n.children[c]; n == nil {
			return [wire.HashLen]byte{}, false
		}
	}
	if n.pages == nil {
		return n.id, true
	}
	o, err := wire.UnmarshalObject(n.blob)
	if err != nil {
		return [wire.HashLen]byte{}, false
	}
	base := name[len(dir)+1:]
	i := sort.Search(len(o.Entries), func(i int) bool { return o.Entries[i].Name > base }) - 1
	if i < 0 || i >= len(n.pages) {
		return [wire.HashLen]byte{}, false
	}
	return o.Entries[i].ID, true
}

// TreeManifest returns the share's version 2 manifest (PROTOCOL.md §5.1) with the given flags
// and generation: the share's own entry, naming the object of its directory. It fails for a
// share without an entry of its own (a single file that could not be read).
func (ix *Index) TreeManifest(carousel bool, pageHeight uint8, generation uint64) (*wire.TreeManifest, error) {
	if ix.root.Name != ix.Share || ix.root.Type == wire.EntrySymlink {
		return nil, fmt.Errorf("index: share %s has no directory or file to serve", ix.Share)
	}
	m := &wire.TreeManifest{Carousel: carousel, PageHeight: pageHeight, Generation: generation,
		Root: wire.ObjectEntry{Entry: ix.root}}
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
