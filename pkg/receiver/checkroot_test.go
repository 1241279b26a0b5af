package receiver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

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
	tmp, err := os.Create(filepath.Join(t.TempDir(), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	f.tmp = tmp
	if _, err := tmp.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := checkRoot(context.Background(), f); err != nil {
		t.Fatalf("the genuine file: %v", err)
	}
	if _, err := tmp.WriteAt([]byte{data[200*1024+5] ^ 0x10}, 200*1024+5); err != nil {
		t.Fatal(err)
	}
	if err := checkRoot(context.Background(), f); !errors.Is(err, ErrVerify) {
		t.Fatalf("one byte changed: %v, want ErrVerify", err)
	}
	if err := tmp.Truncate(size - 1); err != nil {
		t.Fatal(err)
	}
	if err := checkRoot(context.Background(), f); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a byte short: %v, want io.ErrUnexpectedEOF", err)
	}
}
