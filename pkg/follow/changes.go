package follow

import (
	"os"
	"path"

	"github.com/lcsync/lcsync/pkg/wire"
)

// changes is what differs between the generation a follower applied last and the next one:
// all an incremental pass looks at, so that a change to one file of a large mirror costs
// that file, not a walk and a stat of the whole mirror.
type changes struct {
	names   map[string]bool // manifest names to fetch or check, with the directories above them
	changed []string        // entries of next that differ from prev or that idx does not vouch for, relative to DST
	removed []string        // entries of prev absent from next, relative to DST
}

// diff compares the selections prev and next (paths relative to DST) of the followed
// directory prefix. A file of next that idx holds no record of is taken as changed too (its
// last pass failed, or it was not as applied), so that it is checked again.
func diff(prefix string, prev, next map[string]wire.Entry, idx localIndex) *changes {
	c := &changes{names: map[string]bool{}}
	mark := func(rel string) {
		for {
			name := prefix + "/" + rel
			if c.names[name] {
				return // and its parents were marked with it
			}
			c.names[name] = true
			if rel = path.Dir(rel); rel == "." {
				return
			}
		}
	}
	for rel, e := range next {
		old, had := prev[rel]
		_, vouched := idx[rel]
		if had && old == e && (e.Type != wire.EntryFile || vouched) {
			continue
		}
		c.changed = append(c.changed, rel)
		mark(rel)
	}
	for rel := range prev {
		if _, still := next[rel]; !still {
			c.removed = append(c.removed, rel)
			if dir := path.Dir(rel); dir != "." {
				mark(dir) // its directory is listed, so that the entry is deleted
			}
		}
	}
	return c
}

// has reports whether an incremental pass fetches or checks the entry named name
// (receiver.Config.Changed).
func (c *changes) has(name string) bool { return c.names[name] }

// deletionsFrom is deletions for an incremental pass, counted on the manifests instead of the
// mirror: the files and links of prev (what DST holds), and those absent from next that are
// not the source of a planned rename and not below a directory the sender could not read in
// full.
func deletionsFrom(prev, next map[string]wire.Entry, moves []move) (total, deleted int) {
	kept := keeps(next, moves)
	for rel, e := range prev {
		if e.Type == wire.EntryDir {
			continue
		}
		total++
		if !kept(rel) {
			deleted++
		}
	}
	return total, deleted
}

// refresh updates idx after an incremental pass that applied next: the removed entries are
// forgotten, the changed ones recorded as they are in root now.
func (idx localIndex) refresh(root *os.Root, next map[string]wire.Entry, c *changes, kept *keptLeaves) {
	for _, rel := range c.removed {
		delete(idx, rel)
	}
	for _, rel := range c.changed {
		prev := idx[rel]
		delete(idx, rel)
		e := next[rel]
		if e.Type != wire.EntryFile {
			continue
		}
		if a, ok := record(root, rel, e, kept, prev); ok {
			idx[rel] = a
		}
	}
}
