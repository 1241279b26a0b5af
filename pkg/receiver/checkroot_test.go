package receiver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestCheckRootCatchesTamperedFile checks the last check before the rename (the man page's
// "hashed once more"): an assembled file that hashes to the manifest's top passes; one byte
// changed after its block was verified, or a file cut short, does not.
func TestCheckRootCatchesTamperedFile(t *testing.T) {
	const bs, size = 1024, 300*1024 + 17 // several slabs of merkle.Top, a short last block
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	tree, err := merkle.Build(context.Background(), bytes.NewReader(data), size, bs, 1)
	if err != nil {
		t.Fatal(err)
	}
	shape := tree.Shape()
	f := newFileState(wire.Entry{Name: "f", Size: size, Top: tree.Top()}, shape, "f")
	tmp := assembled(t, f, data)
	for _, keep := range []bool{false, true} {
		leaves, err := checkRoot(context.Background(), f, keep, 2)
		if err != nil {
			t.Fatalf("the genuine file (keep %v): %v", keep, err)
		}
		if want, _ := tree.Hashes(0, 0, shape.Blocks(), nil); keep && !slices.Equal(leaves, want) || !keep && leaves != nil {
			t.Fatalf("keep %v: %d leaves returned, want the tree's %v", keep, len(leaves), keep)
		}
	}
	if _, err := tmp.WriteAt([]byte{data[200*1024+5] ^ 0x10}, 200*1024+5); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		if _, err := checkRoot(context.Background(), f, keep, 2); !errors.Is(err, ErrVerify) {
			t.Fatalf("one byte changed (keep %v): %v, want ErrVerify", keep, err)
		}
	}
	if err := tmp.Truncate(size - 1); err != nil {
		t.Fatal(err)
	}
	if _, err := checkRoot(context.Background(), f, false, 2); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a byte short: %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestCheckRootVouched: a file assembled from a vouched local copy (Config.LocalTree) has its
// fetched blocks hashed again and its reused blocks' leaves taken from the local tree. A
// fetched block changed after it was verified is caught; the leaves returned are the file's.
func TestCheckRootVouched(t *testing.T) {
	const bs = 1024
	old := make([]byte, 200*bs+100)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range old {
		old[i] = byte(rng.Uint32())
	}
	data := append(slices.Clone(old), make([]byte, 50*bs)...) // grown by 50 blocks
	data[7*bs+3] ^= 1                                         // block 7 changed
	build := func(b []byte) *merkle.Tree {
		tr, err := merkle.Build(context.Background(), bytes.NewReader(b), int64(len(b)), bs, 1)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	local, tree := build(old), build(data)
	f := newFileState(wire.Entry{Name: "f", Size: int64(len(data)), Top: tree.Top()}, tree.Shape(), "f")
	f.local, f.vouched, f.teed = local, true, true
	f.reuse = bitset.New(uint(tree.Shape().Blocks()))
	f.reuse.FlipRange(0, 200) // blocks 0-199 equal to the local copy's but 7; 200 (short there) and on fetched
	f.reuse.Clear(7)
	tmp := assembled(t, f, data)
	leaves, err := checkRoot(context.Background(), f, true, 2)
	if err != nil {
		t.Fatalf("the genuine file: %v", err)
	}
	if want, _ := tree.Hashes(0, 0, tree.Shape().Blocks(), nil); !slices.Equal(leaves, want) {
		t.Fatal("the leaves returned are not the file's")
	}
	if _, err := tmp.WriteAt([]byte{data[220*bs] ^ 1}, 220*bs); err != nil { // a fetched block
		t.Fatal(err)
	}
	if _, err := checkRoot(context.Background(), f, false, 2); !errors.Is(err, ErrVerify) {
		t.Fatalf("a fetched block changed: %v, want ErrVerify", err)
	}
}

// assembled gives f a temporary file holding data, as assembled before the final check.
func assembled(t *testing.T, f *fileState, data []byte) *os.File {
	t.Helper()
	tmp, err := os.Create(filepath.Join(t.TempDir(), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmp.Close() })
	f.tmp = tmp
	if _, err := tmp.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	return tmp
}
