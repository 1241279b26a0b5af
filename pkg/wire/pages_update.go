package wire

import (
	"math"
	"sort"
)

// DirChange is one change to a directory's entries (see UpdateDirectory): the entry called
// Name (one component) becomes *Entry, added or replaced, or is removed when Entry is nil.
type DirChange struct {
	Name  string
	Entry *ObjectEntry
}

// UpdateDirectory returns what EncodeDirectory returns for the entries encoded in objs (a
// result of EncodeDirectory) with changes applied; changes are sorted by name, one a name.
// It reads and writes only the pages that changes fall in and the page before each (whose
// last cut looks at the next page's first entry), and the pages after them until its cuts
// meet the old cuts again; the other pages are kept as they are. A change to a directory of
// 10,000 entries costs a page or two of about 512 entries and the list of pages, not the
// directory. The result is byte for byte EncodeDirectory's. Errors wrap ErrMalformed.
func UpdateDirectory(objs [][]byte, changes []DirChange) ([][]byte, error) {
	if len(objs) == 0 {
		return nil, malformed("tree object: no directory to update")
	}
	for i := range changes {
		c := &changes[i]
		if c.Entry != nil && c.Entry.Name != c.Name {
			return nil, malformed("tree object: change of %s names %s", quote(c.Name), quote(c.Entry.Name))
		}
		if i > 0 && changes[i-1].Name >= c.Name {
			return nil, malformed("tree object: changes not sorted at %s", quote(c.Name))
		}
	}
	idx, err := UnmarshalObject(objs[0])
	if err != nil {
		return nil, err
	}
	if !idx.Paged() {
		if len(objs) != 1 {
			return nil, malformed("tree object: %d pages for a directory without pages", len(objs)-1)
		}
		return EncodeDirectory(applyChanges(idx.Entries, changes))
	}
	u := pageUpdate{idx: idx.Entries, pages: objs[1:], changes: map[int][]DirChange{}}
	if len(u.pages) != len(u.idx) {
		return nil, malformed("tree object: %d pages for a list of %d", len(u.pages), len(u.idx))
	}
	u.dirty = make([]bool, len(u.pages))
	for _, c := range changes {
		// The page whose range [first name, next page's first name) holds the name.
		j := max(0, sort.Search(len(u.idx), func(j int) bool { return u.idx[j].Name > c.Name })-1)
		u.changes[j] = append(u.changes[j], c)
		u.dirty[j] = true
		if j > 0 {
			u.dirty[j-1] = true
		}
	}
	if err := u.run(); err != nil {
		return nil, err
	}
	total := ObjectHeaderLen
	for _, p := range u.out[1:] {
		total += len(p) - ObjectHeaderLen
	}
	if total < PageFrom {
		// Shrunk below paging: one object, from every page.
		var all []ObjectEntry
		for _, p := range u.out[1:] {
			o, err := UnmarshalObject(p)
			if err != nil {
				return nil, err
			}
			all = append(all, o.Entries...)
		}
		return EncodeDirectory(all)
	}
	b, err := (&Object{Entries: u.list}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	u.out[0] = b
	return u.out, nil
}

// pageUpdate is the state of one UpdateDirectory of a paged directory.
type pageUpdate struct {
	idx     []ObjectEntry       // the old list of pages
	pages   [][]byte            // the old pages
	changes map[int][]DirChange // by old page
	dirty   []bool              // old pages to cut again: changed, or followed by a changed one
	out     [][]byte            // the new list of pages (set last) and pages
	list    []ObjectEntry       // the new list's entries
}

// run cuts the new pages: old pages that are not dirty are kept; from each dirty one the
// entries are cut again until a cut falls where a page that is not dirty begins.
func (u *pageUpdate) run() error {
	u.out = [][]byte{nil}
	for j := 0; j < len(u.pages); {
		if !u.dirty[j] {
			u.out = append(u.out, u.pages[j])
			u.list = append(u.list, u.idx[j])
			j++
			continue
		}
		next, err := u.cut(j)
		if err != nil {
			return err
		}
		j = next
	}
	return nil
}

// cut cuts pages from the start of old page j, which starts a page in the new directory as
// in the old, and returns the old page from which the pages are the old ones again (or the
// number of pages).
func (u *pageUpdate) cut(j int) (int, error) {
	var buf []ObjectEntry
	starts := map[int]int{} // index in buf -> the old page whose entries start there
	q := j                  // the next old page to load
	load := func() error {
		for q < len(u.pages) {
			es, err := u.merged(q)
			if err != nil {
				return err
			}
			q++
			if len(es) > 0 {
				starts[len(buf)] = q - 1
				buf = append(buf, es...)
				return nil
			}
		}
		return nil
	}
	if err := load(); err != nil {
		return 0, err
	}
	start, bytes := 0, ObjectHeaderLen
	for i := 0; i < len(buf); i++ {
		if i == len(buf)-1 {
			if err := load(); err != nil { // the entry after buf[i], if any
				return 0, err
			}
		}
		bytes += buf[i].encodedLen()
		var next *ObjectEntry
		if i+1 < len(buf) {
			next = &buf[i+1]
		}
		if !pageEnds(&buf[i], i+1-start, bytes, next) {
			continue
		}
		page := (&Object{Entries: buf[start : i+1]}).appendValid(nil)
		u.out = append(u.out, page)
		u.list = append(u.list, ObjectEntry{Entry: Entry{Type: EntryPage, Name: buf[start].Name}, ID: ObjectID(page)})
		start, bytes = i+1, ObjectHeaderLen
		if k, ok := starts[i+1]; ok && !u.dirty[k] {
			return k, nil
		}
	}
	return len(u.pages), nil
}

// merged returns the entries of old page j with its changes applied, checked.
func (u *pageUpdate) merged(j int) ([]ObjectEntry, error) {
	o, err := UnmarshalObject(u.pages[j])
	if err != nil {
		return nil, err
	}
	if o.Paged() {
		return nil, malformed("tree object: page %s holds pages", quote(u.idx[j].Name))
	}
	cs := u.changes[j]
	if len(cs) == 0 {
		return o.Entries, nil
	}
	es := applyChanges(o.Entries, cs)
	if err := (&Object{Entries: es}).validate(math.MaxInt); err != nil {
		return nil, err
	}
	if len(es) > 0 && es[0].Type == EntryPage {
		return nil, malformed("tree object: a directory's entries include pages")
	}
	return es, nil
}

// applyChanges returns the sorted entries es with the sorted changes cs applied.
func applyChanges(es []ObjectEntry, cs []DirChange) []ObjectEntry {
	out := make([]ObjectEntry, 0, len(es)+len(cs))
	i := 0
	for _, c := range cs {
		for i < len(es) && es[i].Name < c.Name {
			out = append(out, es[i])
			i++
		}
		if i < len(es) && es[i].Name == c.Name {
			i++
		}
		if c.Entry != nil {
			out = append(out, *c.Entry)
		}
	}
	return append(out, es[i:]...)
}
