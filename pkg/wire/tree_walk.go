package wire

import (
	"maps"
	"slices"
	"strings"
)

// SplitManifest turns the flat manifest m into a version 2 manifest and the tree objects it
// names, encoded and keyed by id: one per directory of the share. m must be valid and must
// have the share's own entry, a directory or a file (a flat manifest may list nothing, or a
// symlink as the share; a version 2 manifest cannot).
func SplitManifest(m *Manifest) (*TreeManifest, map[[HashLen]byte][]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	root, ok := m.Lookup(m.Share)
	if !ok || root.Type == EntrySymlink {
		return nil, nil, malformed("manifest: share %s has no directory or file entry", quote(m.Share))
	}
	children := map[string][]ObjectEntry{}
	for _, e := range m.Entries {
		if e.Name == m.Share {
			continue
		}
		i := strings.LastIndexByte(e.Name, '/')
		oe := ObjectEntry{Entry: e}
		oe.Name = e.Name[i+1:]
		children[e.Name[:i]] = append(children[e.Name[:i]], oe)
	}
	objects := map[[HashLen]byte][]byte{}
	encoded := 1 // the share's entry
	var encode func(dir string) ([HashLen]byte, error)
	encode = func(dir string) ([HashLen]byte, error) {
		es := children[dir]
		encoded += len(es)
		slices.SortFunc(es, func(a, b ObjectEntry) int { return strings.Compare(a.Name, b.Name) })
		for i := range es {
			if e := &es[i]; e.Type == EntryDir {
				id, err := encode(dir + "/" + e.Name)
				if err != nil {
					return id, err
				}
				e.ID = id
			}
		}
		bs, err := EncodeDirectory(es)
		if err != nil {
			return [HashLen]byte{}, err
		}
		for _, b := range bs {
			objects[ObjectID(b)] = b
		}
		return ObjectID(bs[0]), nil
	}
	tm := &TreeManifest{Carousel: m.Carousel, PageHeight: m.PageHeight, Publisher: m.Publisher, Generation: m.Generation,
		Root: ObjectEntry{Entry: root}}
	if root.Type == EntryDir {
		id, err := encode(m.Share)
		if err != nil {
			return nil, nil, err
		}
		tm.Root.ID = id
	}
	if encoded != len(m.Entries) {
		return nil, nil, malformed("manifest: %d of %d entries are not below a directory entry", len(m.Entries)-encoded, len(m.Entries))
	}
	return tm, objects, nil
}

// Flatten walks m's objects top-down and returns the flat manifest they describe: every entry
// when under is "" or the share name, else the share's entry, the directories on the way to
// under, and under with everything below it. Only the objects of the directories walked are
// needed: when some are not in objects, Flatten returns a nil manifest and the ids it lacks
// to go on (the objects one level further down than those it has), so a caller fetches them
// and calls it again; when the walk is complete it returns the manifest and the ids of the
// objects it used, which are all a caller needs to keep to walk a later generation. An entry on the way to under that is missing from its parent's object
// ends the walk there (the manifest then has no entry under; the caller says "not found"); a
// file or symlink on the way ends it too. It fails when the names grow past MaxNameLen or the
// entries past MaxTreeEntries. Errors wrap ErrMalformed.
func (m *TreeManifest) Flatten(objects map[[HashLen]byte]*Object, under string) (*Manifest, [][HashLen]byte, error) {
	return m.flatten(objects, under, nil, MaxTreeEntries)
}

// FlattenPruned is Flatten that does not walk below the directories under under that prune
// reports (called with each one's name): such a directory is listed, nothing below it, and
// the objects below it are neither needed nor used. A receiver whose rules exclude a
// directory and everything below it (pkg/exclude) prunes it so.
func (m *TreeManifest) FlattenPruned(objects map[[HashLen]byte]*Object, under string, prune func(name string) bool) (*Manifest, [][HashLen]byte, error) {
	return m.flatten(objects, under, prune, MaxTreeEntries)
}

// flatten is FlattenPruned with a bound on the entries.
func (m *TreeManifest) flatten(objects map[[HashLen]byte]*Object, under string, prune func(string) bool, limit int) (*Manifest, [][HashLen]byte, error) {
	share := m.Root.Name
	path := []string(nil)
	if under != "" && under != share {
		if !isBelow(under, share) {
			return nil, nil, malformed("manifest: %s is not in share %s", quote(under), quote(share))
		}
		path = strings.Split(under[len(share)+1:], "/")
	}
	fm := &Manifest{Carousel: m.Carousel, PageHeight: m.PageHeight, Publisher: m.Publisher, Share: share,
		Generation: m.Generation, Entries: []Entry{m.Root.Entry}}
	w := flattener{objects: objects, m: fm, missing: map[[HashLen]byte]bool{}, used: map[[HashLen]byte]bool{}, prune: prune, limit: limit}
	if m.Root.Type == EntryDir {
		w.dir(share, m.Root.ID, path)
	}
	if w.err != nil {
		return nil, nil, w.err
	}
	if len(w.missing) > 0 {
		return nil, sortedIDs(w.missing), nil
	}
	fm.SortEntries()
	if err := fm.Validate(); err != nil {
		return nil, nil, err
	}
	return fm, sortedIDs(w.used), nil
}

// sortedIDs returns the ids of set in byte order.
func sortedIDs(set map[[HashLen]byte]bool) [][HashLen]byte {
	ids := slices.Collect(maps.Keys(set))
	slices.SortFunc(ids, func(a, b [HashLen]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	return ids
}

// flattener collects the entries of a walk of tree objects.
type flattener struct {
	objects map[[HashLen]byte]*Object
	m       *Manifest
	missing map[[HashLen]byte]bool
	used    map[[HashLen]byte]bool
	prune   func(name string) bool // directories below under not to walk; nil: none
	limit   int
	err     error
}

// dir adds the entries of directory name (object id): all of them, recursively, when path is
// empty, else only the one named path[0], continuing down path.
func (w *flattener) dir(name string, id [HashLen]byte, path []string) {
	if w.err != nil {
		return
	}
	o := w.objects[id]
	if o == nil {
		w.missing[id] = true
		return
	}
	w.used[id] = true
	if !o.Paged() {
		w.entries(name, o, path)
		return
	}
	// A large directory: its pages, or on the way to path[0] the one page that would hold it.
	lo, hi := 0, len(o.Entries)
	if len(path) > 0 {
		i, found := slices.BinarySearchFunc(o.Entries, path[0], func(e ObjectEntry, t string) int { return strings.Compare(e.Name, t) })
		if !found {
			i--
		}
		if i < 0 {
			return
		}
		lo, hi = i, i+1
	}
	for k := lo; k < hi; k++ {
		pe := o.Entries[k]
		p := w.objects[pe.ID]
		if p == nil {
			w.missing[pe.ID] = true
			continue
		}
		w.used[pe.ID] = true
		switch {
		case p.Paged() || len(p.Entries) == 0:
			w.err = malformed("manifest: a page of directory %s is empty or has pages", quote(name))
		case p.Entries[0].Name != pe.Name:
			w.err = malformed("manifest: a page of directory %s starts at %s, not %s", quote(name), quote(p.Entries[0].Name), quote(pe.Name))
		case k+1 < len(o.Entries) && p.Entries[len(p.Entries)-1].Name >= o.Entries[k+1].Name:
			w.err = malformed("manifest: a page of directory %s runs into the next", quote(name))
		}
		if w.err != nil {
			return
		}
		w.entries(name, p, path)
	}
}

// entries adds the entries of o, a directory's object or one of its pages (see dir).
func (w *flattener) entries(name string, o *Object, path []string) {
	entries := o.Entries
	if len(path) > 0 {
		e, ok := o.Lookup(path[0])
		if !ok {
			return
		}
		entries = []ObjectEntry{e}
	}
	for _, e := range entries {
		full := name + "/" + e.Name
		if len(full) > MaxNameLen {
			w.err = malformed("manifest: a name below %s is longer than %d bytes", quote(name), MaxNameLen)
			return
		}
		if len(w.m.Entries) >= w.limit {
			w.err = malformed("manifest: the share's objects describe more than %d entries", w.limit)
			return
		}
		fe := e.Entry
		fe.Name = full
		w.m.Entries = append(w.m.Entries, fe)
		if e.Type == EntryDir {
			if len(path) == 0 && w.prune != nil && w.prune(full) {
				continue // listed, not walked
			}
			var rest []string
			if len(path) > 1 {
				rest = path[1:]
			}
			w.dir(full, e.ID, rest)
		}
	}
}
