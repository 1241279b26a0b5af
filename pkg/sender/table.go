package sender

import (
	"net/netip"

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
// groups shared by identical subtrees map to the first file that has them.
type table struct {
	groups     map[netip.Addr]ref
	manifest   netip.Addr
	byName     netip.Addr // a signed share's manifest channel keyed by the name alone (else invalid)
	stream     netip.Addr // the whole share's stream
	congestion netip.Addr // joined by receivers that drop datagrams
	dirs       []string   // directory names with a stream channel, index 0 = the share
	objects    [][]byte   // the share's tree objects (PROTOCOL.md §5.1), by ref.index
}

// buildTable maps the groups of ix. The share-level channels of a signed share (pub not nil)
// are keyed by its publisher's key as well as by name (PROTOCOL.md §3); its manifest is also
// answered on the channel of the name alone, where receivers that trust no key look for it.
func buildTable(ix *index.Index, scope mcast.Scope, pageHeight int, pub mcast.Publisher) *table {
	t := &table{
		groups:     make(map[netip.Addr]ref),
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
	for _, e := range ix.Entries {
		if e.Type == wire.EntryDir && e.Name != ix.Share {
			t.groups[mcast.SignedStreamGroup(scope, pub, e.Name)] = ref{kind: mcast.KindStream, file: -1, index: uint32(len(t.dirs))}
			t.dirs = append(t.dirs, e.Name)
		}
	}
	ix.Objects(nil, func(id [wire.HashLen]byte, object []byte) {
		g := mcast.ObjectGroup(scope, id)
		if _, dup := t.groups[g]; !dup {
			t.groups[g] = ref{kind: mcast.KindObject, file: -1, index: uint32(len(t.objects))}
			t.objects = append(t.objects, object)
		}
	})
	for fi, f := range ix.Files {
		if f.Tree == nil {
			continue
		}
		s := f.Tree.Shape()
		top := s.TopLevel()
		for k := top; k >= 0; k-- {
			page := k > 0 && (top-k)%pageHeight == 0
			for i := range s.LevelLen(k) {
				h := [32]byte(f.Tree.Node(k, i))
				r := ref{file: int32(fi), level: uint8(k), index: uint32(i)}
				t.add(mcast.DataGroup(scope, h), r, mcast.KindData)
				if page {
					t.add(mcast.TreeGroup(scope, uint8(k), h), r, mcast.KindTree)
				}
			}
		}
	}
	return t
}

// carryObjects adds the objects of the previous generation's table (its own, not those it
// carried itself) that t lacks, so that a receiver that started walking the previous
// generation's objects just before it changed can finish its walk. They are marked with
// level 1 and dropped at the next generation.
func (t *table) carryObjects(prev *table) {
	if prev == nil {
		return
	}
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
