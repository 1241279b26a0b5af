package sender

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestTableOfStoredTree checks that every node of a stored tree, resident or not, is found by
// its data group (and page nodes by their tree group) with the right level and index or one
// of the same hash, that a foreign group is not, and that a data cycle's tree packets carry
// the node's leaves read back from the store.
func TestTableOfStoredTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "share")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3000*1024+5)
	rand.Read(data[:len(data)/2])
	// The second half repeats one block: its groups are shared, and stored once.
	if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	treeDir := t.TempDir()
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 1024, MaxResident: 20, TreeDir: treeDir})
	if err != nil {
		t.Fatal(err)
	}
	tr := ix.Files[0].Tree
	if tr.Resident() == 0 {
		t.Fatal("the tree is held whole")
	}
	whole, err := merkle.Build(context.Background(), bytes.NewReader(data), int64(len(data)), 1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	const height = 4
	lows := lowIndexes{}
	tab, err := buildTable(ix, mcast.ScopeSite, height, nil, lows)
	if err != nil {
		t.Fatal(err)
	}
	defer lows.close()
	s := whole.Shape()
	checkTable(t, tab, whole, height)
	if len(tab.lows) != 1 || tab.lowErr != nil {
		t.Fatalf("%d group indexes (%v)", len(tab.lows), tab.lowErr)
	}
	for i := range 1000 {
		var b [32]byte
		b[0], b[1] = byte(i), byte(i>>8)
		if _, ok := tab.lookup(mcast.DataGroup(mcast.ScopeSite, b)); ok {
			t.Fatal("a foreign group was found")
		}
	}
	if _, ok := tab.lookup(netip.MustParseAddr("ff15::1")); ok {
		t.Fatal("a foreign address was found")
	}
	// A data cycle of a node below the resident levels.
	g, _ := newGeometry(1500)
	k, i := tr.Resident()-1, 3
	r, _ := tab.lookup(mcast.DataGroup(mcast.ScopeSite, [32]byte(whole.Node(k, i))))
	c, err := newCycle(g, ix, tab, netip.Addr{}, r, nil, height)
	if err != nil {
		t.Fatal(err)
	}
	p := &c.parts[0]
	var got []merkle.Hash
	for q := range p.nTree {
		b, err := p.appendTree(nil, g, q, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		tp, err := wire.ParseTree(b)
		if err != nil {
			t.Fatal(err)
		}
		for o := 0; o < len(tp.Hashes); o += 32 {
			got = append(got, merkle.Hash(tp.Hashes[o:o+32]))
		}
	}
	first, end := s.Descendants(k, i, 0)
	if !slices.Equal(got, whole.Level(0)[first:end]) {
		t.Fatalf("the cycle's %d leaf hashes differ from the node's %d", len(got), end-first)
	}
	// Without a place for the index file, every level is mapped in memory instead.
	if err := os.RemoveAll(treeDir); err != nil {
		t.Fatal(err)
	}
	tab2, err := buildTable(ix, mcast.ScopeSite, height, nil, lowIndexes{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tab2.lows) != 0 || tab2.lowErr == nil {
		t.Fatalf("%d group indexes, error %v", len(tab2.lows), tab2.lowErr)
	}
	checkTable(t, tab2, whole, height)
}

// checkTable checks that tab finds the data group of every node of the tree whole, and the
// tree group of every page node.
func checkTable(t *testing.T, tab *table, whole *merkle.Tree, height int) {
	t.Helper()
	s := whole.Shape()
	top := s.TopLevel()
	for k := top; k >= 0; k-- {
		for i := range s.LevelLen(k) {
			h := whole.Node(k, i)
			r, ok := tab.lookup(mcast.DataGroup(mcast.ScopeSite, [32]byte(h)))
			if !ok || r.kind != mcast.KindData || r.file != 0 || whole.Node(int(r.level), int(r.index)) != h {
				t.Fatalf("data group of node (%d, %d): %+v, %v", k, i, r, ok)
			}
			if k > 0 && (top-k)%height == 0 {
				r, ok := tab.lookup(mcast.TreeGroup(mcast.ScopeSite, uint8(k), [32]byte(h)))
				if !ok || r.kind != mcast.KindTree || int(r.level) != k || whole.Node(k, int(r.index)) != h {
					t.Fatalf("tree group of node (%d, %d): %+v, %v", k, i, r, ok)
				}
			}
		}
	}
}
