package wire

import (
	"fmt"
	"math/rand/v2"
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
