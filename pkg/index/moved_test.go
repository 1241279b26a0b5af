package index

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/watch"
)

// TestUpdateRenameKeepsTrees: a file renamed, and a directory renamed, keep their trees
// unhashed; the index is still exactly what a fresh build gives. A file rewritten (same size,
// new content) and renamed in the same update is hashed, and so is a new hard link to a file
// that stays.
func TestUpdateRenameKeepsTrees(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	write(t, filepath.Join(src, "big"), strings.Repeat("b", 64<<10), 0o644)
	for _, n := range []string{"x", "y", "z"} {
		write(t, filepath.Join(src, "d", n), strings.Repeat(n, 3000), 0o644)
	}
	write(t, filepath.Join(src, "keep"), "keep", 0o644)
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // past the racy window of the writes

	mv := func(from, to string) {
		t.Helper()
		if err := os.Rename(filepath.Join(src, from), filepath.Join(src, to)); err != nil {
			t.Fatal(err)
		}
	}
	mv("big", "big2")
	mv("d", "e")
	r := update(t, ix, watch.Change{Rel: "big"}, watch.Change{Rel: "big2"}, watch.Change{Rel: "d"}, watch.Change{Rel: "e", Tree: true})
	if !r.Changed || r.Hashed != 0 || r.Moved != 4 {
		t.Fatalf("renames: changed %v, hashed %d, moved %d; want true, 0, 4", r.Changed, r.Hashed, r.Moved)
	}
	sameAsBuild(t, r.Index)
	ix = r.Index

	// Rewritten with the same size and renamed: its content changed, so it is hashed.
	p := filepath.Join(src, "e", "x")
	if err := os.WriteFile(p, []byte(strings.Repeat("X", 3000)), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	mv("e/x", "e/x2")
	r = update(t, ix, watch.Change{Rel: "e/x"}, watch.Change{Rel: "e/x2"})
	if r.Hashed != 1 || r.Moved != 0 {
		t.Fatalf("rewritten and renamed: hashed %d, moved %d; want 1, 0", r.Hashed, r.Moved)
	}
	sameAsBuild(t, r.Index)
	ix = r.Index

	// A hard link to a file that stays: not a rename, hashed.
	if err := os.Link(filepath.Join(src, "keep"), filepath.Join(src, "keep2")); err != nil {
		t.Fatal(err)
	}
	r = update(t, ix, watch.Change{Rel: "keep2"})
	if r.Hashed != 1 || r.Moved != 0 {
		t.Fatalf("hard link: hashed %d, moved %d; want 1, 0", r.Hashed, r.Moved)
	}
	sameAsBuild(t, r.Index)
}
