package index

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lcsync/lcsync/merkle"
)

// TestLargeFileTreeIsStored checks that a file of more blocks than MaxResident keeps only its
// upper levels in memory and its leaf hashes in an unlinked file of TreeDir, with the same
// tree as a whole build, that a small file is held whole, and that Refresh keeps the options.
func TestLargeFileTreeIsStored(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	data := bytes.Repeat([]byte("0123456789abcdefg"), 20000) // 340000 bytes: 333 blocks
	write(t, filepath.Join(src, "big"), string(data), 0o644)
	write(t, filepath.Join(src, "small"), "tiny", 0o644)
	treeDir := t.TempDir()
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024, TreeDir: treeDir, MaxResident: 16})
	if err != nil {
		t.Fatal(err)
	}
	want, err := merkle.Build(context.Background(), bytes.NewReader(data), int64(len(data)), 1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	big, small := ix.Files[0], ix.Files[1]
	if big.Tree.Resident() == 0 || small.Tree.Resident() != 0 {
		t.Fatalf("resident from levels %d and %d", big.Tree.Resident(), small.Tree.Resident())
	}
	if big.Tree.Root() != want.Root() || big.Entry.Top != want.Top() {
		t.Fatal("the stored tree differs from the whole one")
	}
	if h, err := big.Tree.Get(0, 300); err != nil || h != want.Leaf(300) {
		t.Fatalf("leaf 300: %v", err)
	}
	if left, _ := os.ReadDir(treeDir); len(left) != 0 {
		t.Fatalf("the leaf store is visible in %s: %v", treeDir, left)
	}
	write(t, filepath.Join(src, "big2"), string(data[:200000]), 0o644)
	ix2, _, err := Refresh(context.Background(), ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ix2.Files[0].Tree != big.Tree || ix2.Files[1].Tree.Resident() == 0 {
		t.Fatal("Refresh did not reuse the stored tree or did not store the new large file")
	}
	if h, err := ix2.Files[1].Tree.Get(0, 150); err != nil || h != want.Leaf(150) {
		t.Fatalf("leaf 150 of the new file: %v", err)
	}
	// A directory that cannot hold the store: the tree is held whole.
	ix3, err := Build(context.Background(), src, Options{BlockSize: 1024, TreeDir: filepath.Join(treeDir, "missing"), MaxResident: 16})
	if err != nil || ix3.Files[0].Tree.Resident() != 0 || ix3.Files[0].Tree.Root() != want.Root() {
		t.Fatalf("no store: %v", err)
	}
}
