package sender

import (
	"fmt"
	"net/netip"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// ref names what a group carries: a kind and, for tree and data channels, a node of a file;
// for stream channels, a directory.
type ref struct {
	kind  mcast.Kind
	file  int32 // index into Index.Files; -1 for manifest and stream
	level uint8
	index uint32 // node index; for a stream, index into table.dirs
}

// table maps every group the share can be asked for to what it carries. Content-addressed
// groups shared by identical subtrees map to the first file that has them. The groups of the
// tree levels a large file does not keep in memory (see merkle.BuildStored) are in that file's
// lowIndex, on disk, looked up after groups; use lookup, never groups alone.
type table struct {
	groups     map[netip.Addr]ref // share channels and every resident node
	lows       []fileLow          // per stored tree, in file order
	recent     map[netip.Addr]lowHit
	manifest   netip.Addr
	byName     netip.Addr          // a signed share's manifest channel keyed by the name alone (else invalid)
	stream     netip.Addr          // the whole share's stream
	congestion netip.Addr          // joined by receivers that drop datagrams
	dirs       []string            // directory names with a stream channel, index 0 = the share
	page       []byte              // lowIndex read buffer
	lowErr     error               // the last lowIndex build or read error, for the sender's log
	objects    [][]byte            // the share's tree objects (PROTOCOL.md §5.1), by ref.index
	objGroups  []netip.Addr        // the channels of objects, those of this generation only
	fresh      map[netip.Addr]bool // the object channels new in this generation (not in the previous one's)
}

// fileLow is the lowIndex of file number file.
type fileLow struct {
	file int32
	x    *lowIndex
}

// lowHit is a cached lowIndex answer, found or not.
type lowHit struct {
	r  ref
	ok bool
}

// recentMax bounds the cache of lowIndex answers (it is cleared when full).
const recentMax = 4096

// lookup returns what group g carries: from groups, else from the stored trees' indexes.
func (t *table) lookup(g netip.Addr) (ref, bool) {
	if r, ok := t.groups[g]; ok {
		return r, true
	}
	if len(t.lows) == 0 {
		return ref{}, false
	}
	if h, ok := t.recent[g]; ok {
		return h.r, h.ok
	}
	var hit lowHit
	for _, l := range t.lows {
		e, ok, err := l.x.lookup(g, t.page)
		if err != nil {
			t.lowErr = err
			return ref{}, false // not cached: the next report tries again
		}
		if ok {
			hit = lowHit{r: ref{kind: e.kind, file: l.file, level: e.level, index: e.index}, ok: true}
			break
		}
	}
	if len(t.recent) >= recentMax {
		clear(t.recent)
	}
	t.recent[g] = hit
	return hit.r, hit.ok
}

// count returns how many groups the table answers.
func (t *table) count() int {
	n := len(t.groups)
	for _, l := range t.lows {
		n += l.x.n
	}
	return n
}

// buildTable maps the groups of ix. The share-level channels of a signed share (pub not nil)
// are keyed by its publisher's key as well as by name (PROTOCOL.md §3); its manifest is also
// answered on the channel of the name alone, where receivers that trust no key look for it.
// The levels of stored trees below their resident level are indexed by lowIndex, taken from
// lows (by tree, kept across rebuilds) or built into it.
func buildTable(ix *index.Index, scope mcast.Scope, pageHeight int, pub mcast.Publisher, lows lowIndexes) (*table, error) {
	t := &table{
		groups:     make(map[netip.Addr]ref),
		recent:     make(map[netip.Addr]lowHit),
		manifest:   mcast.SignedManifestGroup(scope, pub, ix.Share),
		stream:     mcast.SignedStreamGroup(scope, pub, ix.Share),
		congestion: mcast.SignedCongestionGroup(scope, pub, ix.Share),
	}
	t.groups[t.manifest] = ref{kind: mcast.KindManifest, file: -1}
	if pub != nil {
		t.byName = mcast.ManifestGroup(scope, ix.Share)
		t.groups[t.byName] = ref{kind: mcast.KindManifest, file: -1}
	}
	t.groups[t.stream] = ref{kind: mcast.KindStream, file: -1}
	t.dirs = []string{ix.Share}
	ix.Dirs(func(name string) {
		t.groups[mcast.SignedStreamGroup(scope, pub, name)] = ref{kind: mcast.KindStream, file: -1, index: uint32(len(t.dirs))}
		t.dirs = append(t.dirs, name)
	})
	ix.Objects(nil, func(id [wire.HashLen]byte, object []byte) {
		g := mcast.ObjectGroup(scope, id)
		if _, dup := t.groups[g]; !dup {
			t.groups[g] = ref{kind: mcast.KindObject, file: -1, index: uint32(len(t.objects))}
			t.objects = append(t.objects, object)
			t.objGroups = append(t.objGroups, g)
		}
	})
	for fi, f := range ix.Files {
		if f.Tree == nil {
			continue
		}
		s := f.Tree.Shape()
		top := s.TopLevel()
		bottom := f.Tree.Resident() // the lowest level mapped in groups
		if bottom > 0 {
			x, err := lows.get(f.Tree, scope, pageHeight, ix.TreeDir())
			if err == nil {
				t.lows = append(t.lows, fileLow{file: int32(fi), x: x})
				t.page = make([]byte, lowPage*lowEntry)
			} else {
				// No index file (a full disk, say): every level goes in groups, as when
				// the tree is held whole.
				t.lowErr, bottom = err, 0
			}
		}
		var level []merkle.Hash
		for k := top; k >= bottom; k-- {
			page := k > 0 && (top-k)%pageHeight == 0
			level = f.Tree.Level(k)
			if level == nil {
				var err error
				if level, err = f.Tree.Hashes(k, 0, s.LevelLen(k), nil); err != nil {
					return nil, fmt.Errorf("sender: %s: %w", f.Path(), err)
				}
			}
			for i := range s.LevelLen(k) {
				h := [32]byte(level[i])
				r := ref{file: int32(fi), level: uint8(k), index: uint32(i)}
				t.add(mcast.DataGroup(scope, h), r, mcast.KindData)
				if page {
					t.add(mcast.TreeGroup(scope, uint8(k), h), r, mcast.KindTree)
				}
			}
		}
	}
	return t, nil
}

// lowIndexes holds the lowIndex of each stored tree a table uses, so that a rebuild for a new
// generation indexes only the files that changed.
type lowIndexes map[*merkle.Tree]*lowIndex

func (l lowIndexes) get(t *merkle.Tree, scope mcast.Scope, pageHeight int, dir string) (*lowIndex, error) {
	if x := l[t]; x != nil {
		return x, nil
	}
	x, err := buildLowIndex(t, scope, pageHeight, dir)
	if err != nil {
		return nil, err
	}
	l[t] = x
	return x, nil
}

// keep closes and forgets the indexes of trees tab does not use.
func (l lowIndexes) keep(tab *table, ix *index.Index) {
	used := map[*merkle.Tree]bool{}
	for _, fl := range tab.lows {
		used[ix.Files[fl.file].Tree] = true
	}
	for t, x := range l {
		if !used[t] {
			x.close()
			delete(l, t)
		}
	}
}

// carryObjects notes which of t's objects are new (fresh: their directories changed), and
// adds the objects of the previous generation's table (its own, not those it carried itself)
// that t lacks, so that a receiver that started walking the previous
// generation's objects just before it changed can finish its walk. They are marked with
// level 1 and dropped at the next generation.
func (t *table) carryObjects(prev *table) {
	if prev == nil {
		return
	}
	t.fresh = map[netip.Addr]bool{}
	for _, g := range t.objGroups {
		if r, ok := prev.groups[g]; !ok || r.kind != mcast.KindObject {
			t.fresh[g] = true
		}
	}
	t.objGroups = nil
	for g, r := range prev.groups {
		if r.kind != mcast.KindObject || r.level != 0 {
			continue
		}
		if _, ok := t.groups[g]; !ok {
			t.groups[g] = ref{kind: mcast.KindObject, file: -1, level: 1, index: uint32(len(t.objects))}
			t.objects = append(t.objects, prev.objects[r.index])
		}
	}
}

// isManifest reports whether g is one of the share's manifest channels.
func (t *table) isManifest(g netip.Addr) bool {
	return g == t.manifest || (t.byName.IsValid() && g == t.byName)
}

func (t *table) add(g netip.Addr, r ref, kind mcast.Kind) {
	if _, dup := t.groups[g]; dup {
		return
	}
	r.kind = kind
	t.groups[g] = r
}

// close closes every index.
func (l lowIndexes) close() {
	for t, x := range l {
		x.close()
		delete(l, t)
	}
}
