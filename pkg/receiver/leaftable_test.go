package receiver

import (
	"crypto/rand"
	"os"
	"testing"

	"github.com/lcsync/lcsync/merkle"
)

// TestLeafTableStored: a stored leaf table gives back what was set, through a cache of at most
// leafCachePages pages, and folds every node's span as merkle.Fold does; its store is an
// unlinked file, and a failed store shows as the table's error.
func TestLeafTableStored(t *testing.T) {
	const n = (leafCachePages+4)*leafPageLen + 77
	shape, err := merkle.NewShape(n*1024, 1024)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]merkle.Hash, n)
	for i := range want {
		_, _ = rand.Read(want[i][:])
	}
	dir := t.TempDir()
	l, err := newLeafTable(n, true, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.release()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("the store left %d names in its directory", len(ents))
	}
	// Set out of order, so pages are evicted dirty and read back.
	for _, i := range []int{3, 2, 0, 4, 1, 5, 19, 7, 20, 6, 18, 8, 17, 9, 16, 10, 15, 11, 14, 12, 13} {
		for b := i * leafPageLen; b < min(n, (i+1)*leafPageLen); b++ {
			if b%3 == 0 {
				l.set(b, want[b])
			}
		}
	}
	for b := range n {
		if b%3 != 0 {
			l.set(b, want[b])
		}
	}
	for b := n - 1; b >= 0; b-- {
		if l.get(b) != want[b] {
			t.Fatalf("leaf %d differs", b)
		}
	}
	if len(l.pages) > leafCachePages {
		t.Fatalf("%d pages cached", len(l.pages))
	}
	for k := range shape.Levels() {
		for i := range shape.LevelLen(k) {
			a, b := shape.Span(k, i)
			if got := l.fold(a, b); got != merkle.Fold(want[a:b]) {
				t.Fatalf("node (%d, %d) folds wrong", k, i)
			}
		}
	}
	if l.err != nil {
		t.Fatal(l.err)
	}
	// A store that fails: reads give zero hashes and the error is kept.
	l.store.Close()
	for b := 0; b < n; b += leafPageLen {
		l.get(b)
	}
	if l.err == nil {
		t.Fatal("no error from a closed store")
	}
}

// TestStateBudgetAdmitsLargeFiles: with its leaves stored, a 1 TiB file in 16 KiB blocks fits
// half the default memory bound (held in memory they would not: 64 GiB was the most), and a
// forged entry of 2^32 blocks of 1 MiB still does not.
func TestStateBudgetAdmitsLargeFiles(t *testing.T) {
	budget := (&Config{MaxMemory: DefaultMaxMemory}).stateBudget()
	tib, err := merkle.NewShape(1<<40, 16384)
	if err != nil {
		t.Fatal(err)
	}
	if got := stateBytes(tib, DefaultStoredLeaves); got > budget {
		t.Errorf("a 1 TiB file needs %d bytes of state, over the budget of %d", got, budget)
	}
	if got := stateBytes(tib, -1); got <= budget {
		t.Errorf("a 1 TiB file with its leaves in memory needs only %d bytes", got)
	}
	forged, err := merkle.NewShape(1<<52-1, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := stateBytes(forged, DefaultStoredLeaves); got <= budget {
		t.Errorf("a file of %d blocks needs only %d bytes of state", forged.Blocks(), got)
	}
}
