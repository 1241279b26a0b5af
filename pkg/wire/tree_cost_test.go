package wire

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOneFileChangeCost computes what a one-file change to a share of 10,000 files (100 to a
// directory, two levels of directories, as the smallfiles benchmark) costs on the wire, with
// the chunking the sender uses: the whole flat manifest before, the version 2 manifest and
// the objects of the directories from the file to the root after. It fails if the change
// costs more than those three objects and the header.
func TestOneFileChangeCost(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := &Manifest{PageHeight: 4, Share: "src", Generation: 1}
	add := func(e Entry) { m.Entries = append(m.Entries, e) }
	const mtime = 1700000000123456789
	add(Entry{Type: EntryDir, Mode: 0o755, MTime: mtime, Name: "src"})
	for d := range 10 {
		add(Entry{Type: EntryDir, Mode: 0o755, MTime: mtime, Name: fmt.Sprintf("src/d%d", d)})
		for e := range 10 {
			add(Entry{Type: EntryDir, Mode: 0o755, MTime: mtime, Name: fmt.Sprintf("src/d%d/e%d", d, e)})
			for f := range 100 {
				var top [HashLen]byte
				for i := range top {
					top[i] = byte(rng.Uint32())
				}
				add(Entry{Type: EntryFile, Mode: 0o644, MTime: mtime, Name: fmt.Sprintf("src/d%d/e%d/f%03d.dat", d, e, f),
					Size: 1024 + rng.Int64N(63<<10), BlockShift: 14, Top: top})
			}
		}
	}
	m.SortEntries()
	cost := func(blob []byte, chunk func([]byte, int) ([][]byte, error)) (datagrams, bytes int) {
		ds, err := chunk(blob, DefaultMaxDatagram)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			bytes += len(d) + IPv6UDPOverhead
		}
		return len(ds), bytes
	}
	flat, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	flatN, flatB := cost(flat, ManifestChunks)
	_, before, err := SplitManifest(m)
	if err != nil {
		t.Fatal(err)
	}

	// Rewrite one file: new size, top and mtime; its directories' mtimes do not change
	// (a rewrite in place).
	i := len(m.Entries) / 2
	m.Entries[i].Size++
	m.Entries[i].Top[0]++
	m.Entries[i].MTime++
	m.Generation++
	tm, after, err := SplitManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	header, err := tm.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	treeN, treeB := cost(header, ManifestChunks)
	objects := 0
	for id, o := range after {
		if before[id] == nil {
			n, b := cost(o, ObjectChunks)
			treeN, treeB, objects = treeN+n, treeB+b, objects+1
		}
	}
	if objects != 3 {
		t.Errorf("the change made %d new objects, want 3 (the file's directory, its parent, the share's)", objects)
	}
	t.Logf("one file changed among %d entries: flat manifest %d bytes = %d datagrams, %d bytes on the wire per push (a generation is pushed up to 4 times);"+
		" version 2: header %d bytes + %d changed objects = %d datagrams, %d bytes on the wire per fetch of what changed",
		len(m.Entries), len(flat), flatN, flatB, len(header), objects, treeN, treeB)
	if treeB*20 > flatB {
		t.Errorf("version 2 costs %d bytes, more than a twentieth of the flat manifest's %d", treeB, flatB)
	}
}

// TestOneFileChangeCostWideRoot: the shape, 100,000 files in 10,000 directories all
// in the share's directory, whose object is paged: a one-file change costs the share's
// object, one of its pages, and the file's directory, not the 10,000-entry listing.
func TestOneFileChangeCostWideRoot(t *testing.T) {
	m := &Manifest{PageHeight: 4, Share: "src", Generation: 1}
	m.Entries = append(m.Entries, Entry{Type: EntryDir, Mode: 0o755, Name: "src"})
	for d := range 10000 {
		m.Entries = append(m.Entries, Entry{Type: EntryDir, Mode: 0o755, MTime: 1, Name: fmt.Sprintf("src/dir%05d", d)})
		for f := range 10 {
			m.Entries = append(m.Entries, Entry{Type: EntryFile, Mode: 0o644, MTime: 1, Name: fmt.Sprintf("src/dir%05d/f%d", d, f),
				Size: 100, BlockShift: 14, Top: [HashLen]byte{0: byte(d), 1: byte(d >> 8), 2: byte(f), 3: 1}})
		}
	}
	m.SortEntries()
	_, before, err := SplitManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := m.Lookup("src/dir04242/f7")
	i := slices.IndexFunc(m.Entries, func(x Entry) bool { return x.Name == e.Name })
	m.Entries[i].Top[5]++
	tm, after, err := SplitManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	header, _ := tm.MarshalBinary()
	n, bytes := 1, len(header)+ManifestChunkHeaderLen+IPv6UDPOverhead
	objects := 0
	for id, o := range after {
		if before[id] == nil {
			ds, _ := ObjectChunks(o, DefaultMaxDatagram)
			for _, d := range ds {
				bytes += len(d) + IPv6UDPOverhead
			}
			n, objects = n+len(ds), objects+1
		}
	}
	flat, _ := m.MarshalBinary()
	t.Logf("one file changed among 100,000 in 10,000 directories: flat manifest %d bytes; version 2: %d new objects, %d datagrams, %d bytes",
		len(flat), objects, n, bytes)
	if objects != 3 {
		t.Errorf("%d new objects, want 3 (the file's directory, one page of the share's, the share's object)", objects)
	}
}
