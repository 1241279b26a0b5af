package follow

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/wire"
)

// TestLocalIndexVouches: a file is vouched for while it is the file applied, with its size and
// time; a rewrite, a replacement or other content in the manifest ends that.
func TestLocalIndexVouches(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := wire.Entry{Type: wire.EntryFile, Name: "s/f", Size: 5, BlockShift: 10, Top: [32]byte{1}}
	idx := indexAfter(root, map[string]wire.Entry{"f": e}, nil)
	check := func(what string, want bool, e wire.Entry) {
		t.Helper()
		fi, err := root.Lstat("f")
		if err != nil {
			t.Fatal(err)
		}
		if got := idx.vouch("f", fi, e); got != want {
			t.Errorf("%s: vouch = %v, want %v", what, got, want)
		}
	}
	check("as applied", true, e)
	other := e
	other.Top[0] = 2
	check("other content in the manifest", false, other)

	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("HELLO"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "f"), later, later); err != nil {
		t.Fatal(err)
	}
	check("rewritten in place", false, e)

	idx = indexAfter(root, map[string]wire.Entry{"f": e}, nil)
	if err := os.WriteFile(filepath.Join(dir, "g"), []byte("HELLO"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, "g"), later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "g"), filepath.Join(dir, "f")); err != nil {
		t.Fatal(err)
	}
	check("replaced by another file with the same size and time", false, e)

	idx.moved(root, []move{{from: "f", to: "h"}})
	if _, ok := idx["h"]; !ok || len(idx) != 1 {
		t.Errorf("after a move: index %v", idx)
	}
	var none localIndex
	none.moved(root, []move{{from: "a", to: "b"}}) // a nil index stays nil
}
