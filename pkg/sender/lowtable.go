package sender

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"net/netip"
	"os"
	"slices"
	"sort"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// lowIndex maps the groups of the nodes a stored tree does not keep in memory (below
// merkle.Tree.Resident) to those nodes, from an unlinked temporary file: one entry per
// distinct group, sorted, so that a lookup reads one page. Only the first key of each page
// stays in memory (8 bytes per lowPage entries), so a file's index costs memory in proportion
// to its size divided by about 16 KiB per 680 nodes: 24 KiB for 16 GiB of distinct blocks.
//
// Entries are ordered by a partition of the address under a seed chosen per process (so that
// a file's content cannot pile its groups into one partition and the build's memory), then by
// address. Building writes the entries partition by partition to a scratch region, then sorts
// each partition in memory: the largest sort holds about 1/lowParts of the entries.
type lowIndex struct {
	f      *os.File
	seed   maphash.Seed
	fences []uint64 // sort key of each page's first entry
	n      int      // entries
}

// A low index entry: the group address, the node's index and level, and its kind.
const (
	lowEntry = 24
	lowPage  = 680 // entries a page: one read of 16320 bytes
	lowParts = 256 // partitions of the build
	// lowSeen is the size of the direct-mapped cache of recent groups that drops repeats
	// (runs of identical blocks, sparse files) before they reach the partitions.
	lowSeen = 4096
)

type lowRef struct {
	addr  [16]byte
	index uint32
	level uint8
	kind  mcast.Kind
}

func (e *lowRef) put(b []byte) {
	copy(b, e.addr[:])
	binary.LittleEndian.PutUint32(b[16:], e.index)
	b[20], b[21], b[22], b[23] = e.level, byte(e.kind), 0, 0
}

func getLowRef(b []byte) lowRef {
	var e lowRef
	copy(e.addr[:], b)
	e.index = binary.LittleEndian.Uint32(b[16:])
	e.level, e.kind = b[20], mcast.Kind(b[21])
	return e
}

// sortKey orders entries: the partition in the top byte, then the address's first 56 hash
// bits (bytes 2 to 8; bytes 0 and 1 are the same for every group of a scope).
func (x *lowIndex) sortKey(addr *[16]byte) uint64 {
	p := maphash.Bytes(x.seed, addr[:]) % lowParts
	return p<<56 | binary.BigEndian.Uint64(addr[1:9])&(1<<56-1)
}

func (x *lowIndex) less(a, b *[16]byte) int {
	if ka, kb := x.sortKey(a), x.sortKey(b); ka != kb {
		if ka < kb {
			return -1
		}
		return 1
	}
	return bytes.Compare(a[:], b[:])
}

// buildLowIndex indexes the data groups of every node of t below its resident level, and the
// tree groups of those at page levels (PageHeight levels apart from the top, level 0 aside),
// in an unlinked file in dir ("" for os.TempDir()). It returns nil for a tree held whole.
func buildLowIndex(t *merkle.Tree, scope mcast.Scope, pageHeight int, dir string) (*lowIndex, error) {
	low := t.Resident()
	if low == 0 {
		return nil, nil
	}
	f, err := os.CreateTemp(dir, ".lcsync-groups-*")
	if err != nil {
		return nil, fmt.Errorf("sender: group index: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("sender: group index: %w", err)
	}
	x := &lowIndex{f: f, seed: maphash.MakeSeed()}
	if err := x.build(t, scope, pageHeight); err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

// lowChunk is one spilled buffer of a partition in the scratch region.
type lowChunk struct {
	off int64
	n   int
}

func (x *lowIndex) build(t *merkle.Tree, scope mcast.Scope, pageHeight int) error {
	s, low := t.Shape(), t.Resident()
	top := s.TopLevel()
	bufs := make([][]byte, lowParts)
	chunks := make([][]lowChunk, lowParts)
	var end int64 // scratch region end
	spill := func(p int) error {
		if len(bufs[p]) == 0 {
			return nil
		}
		if _, err := x.f.WriteAt(bufs[p], end); err != nil {
			return fmt.Errorf("sender: group index: %w", err)
		}
		chunks[p] = append(chunks[p], lowChunk{off: end, n: len(bufs[p]) / lowEntry})
		end += int64(len(bufs[p]))
		bufs[p] = bufs[p][:0]
		return nil
	}
	var seen [lowSeen][16]byte
	var e [lowEntry]byte
	add := func(g netip.Addr, k, i int, kind mcast.Kind) error {
		r := lowRef{addr: g.As16(), index: uint32(i), level: uint8(k), kind: kind}
		slot := &seen[binary.LittleEndian.Uint64(r.addr[8:])%lowSeen]
		if *slot == r.addr {
			return nil
		}
		*slot = r.addr
		p := int(x.sortKey(&r.addr) >> 56)
		if bufs[p] == nil {
			bufs[p] = make([]byte, 0, 170*lowEntry)
		}
		r.put(e[:])
		bufs[p] = append(bufs[p], e[:]...)
		if len(bufs[p]) == cap(bufs[p]) {
			return spill(p)
		}
		return nil
	}
	var run []merkle.Hash
	d := 1 << low // leaves a unit
	for u := range s.LevelLen(low) {
		for k := low - 1; k >= 0; k-- {
			first := u << (low - k)
			last := min(first+d>>k, s.LevelLen(k))
			var err error
			if run, err = t.Hashes(k, first, last, run[:0]); err != nil {
				return fmt.Errorf("sender: group index: %w", err)
			}
			page := k > 0 && (top-k)%pageHeight == 0
			for j, h := range run {
				if err := add(mcast.DataGroup(scope, [32]byte(h)), k, first+j, mcast.KindData); err != nil {
					return err
				}
				if page {
					if err := add(mcast.TreeGroup(scope, uint8(k), [32]byte(h)), k, first+j, mcast.KindTree); err != nil {
						return err
					}
				}
			}
		}
	}
	for p := range bufs {
		if err := spill(p); err != nil {
			return err
		}
	}
	// Sort each partition and write it after the scratch region; then move the sorted
	// entries to the start of the file.
	out := end
	var part, page []byte
	var ents []lowRef
	for p := range chunks {
		part = part[:0]
		for _, c := range chunks[p] {
			part = slices.Grow(part, c.n*lowEntry)[:len(part)+c.n*lowEntry]
			if _, err := x.f.ReadAt(part[len(part)-c.n*lowEntry:], c.off); err != nil {
				return fmt.Errorf("sender: group index: %w", err)
			}
		}
		ents = ents[:0]
		for o := 0; o < len(part); o += lowEntry {
			ents = append(ents, getLowRef(part[o:]))
		}
		slices.SortStableFunc(ents, func(a, b lowRef) int { return x.less(&a.addr, &b.addr) })
		ents = slices.CompactFunc(ents, func(a, b lowRef) bool { return a.addr == b.addr })
		page = page[:0]
		for i := range ents {
			if x.n%lowPage == 0 {
				x.fences = append(x.fences, x.sortKey(&ents[i].addr))
			}
			page = append(page, e[:]...)
			ents[i].put(page[len(page)-lowEntry:])
			x.n++
		}
		if _, err := x.f.WriteAt(page, out); err != nil {
			return fmt.Errorf("sender: group index: %w", err)
		}
		out += int64(len(page))
	}
	// Copy the sorted entries down over the scratch region, in pieces.
	buf := make([]byte, 1<<20)
	for off := int64(0); off < out-end; off += int64(len(buf)) {
		n := int(min(int64(len(buf)), out-end-off))
		if _, err := x.f.ReadAt(buf[:n], end+off); err != nil {
			return fmt.Errorf("sender: group index: %w", err)
		}
		if _, err := x.f.WriteAt(buf[:n], off); err != nil {
			return fmt.Errorf("sender: group index: %w", err)
		}
	}
	if err := x.f.Truncate(out - end); err != nil {
		return fmt.Errorf("sender: group index: %w", err)
	}
	x.fences = slices.Clip(x.fences)
	return nil
}

// lookup returns the node whose group is g, reading at most two pages.
func (x *lowIndex) lookup(g netip.Addr, page []byte) (lowRef, bool, error) {
	addr := g.As16()
	key := x.sortKey(&addr)
	// The first page that may hold key: the last whose first key is below it (an equal first
	// key may have equal keys before it, on the previous page).
	i := sort.Search(len(x.fences), func(i int) bool { return x.fences[i] >= key })
	i = max(0, i-1)
	for ; i < len(x.fences) && x.fences[i] <= key; i++ {
		n := min(lowPage, x.n-i*lowPage)
		if _, err := x.f.ReadAt(page[:n*lowEntry], int64(i)*lowPage*lowEntry); err != nil {
			return lowRef{}, false, fmt.Errorf("sender: group index: %w", err)
		}
		j := sort.Search(n, func(j int) bool {
			a := [16]byte(page[j*lowEntry:])
			return x.less(&a, &addr) >= 0
		})
		if j < n && [16]byte(page[j*lowEntry:]) == addr {
			return getLowRef(page[j*lowEntry:]), true, nil
		}
	}
	return lowRef{}, false, nil
}

// close releases the index's file.
func (x *lowIndex) close() error { return x.f.Close() }
