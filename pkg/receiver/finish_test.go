package receiver

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestCopyBlocks: reused blocks are copied from the local copy into the temporary file and
// checked there against the local tree; a local copy that changed after it was hashed is caught
// and the block named, with one checker or several, in runs longer and shorter than a slab.
func TestCopyBlocks(t *testing.T) {
	const bs = 1024
	want := bytes.Repeat([]byte("0123456789abcdef"), 8*bs/16+3) // 8 blocks and a partial one
	wt, err := merkle.Build(context.Background(), bytes.NewReader(want), int64(len(want)), bs, 1)
	if err != nil {
		t.Fatal(err)
	}
	local := bytes.Clone(want)
	local[5*bs+7] ^= 1 // block 5 differs locally and was fetched; the rest is reused
	lt, err := merkle.Build(context.Background(), bytes.NewReader(local), int64(len(local)), bs, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, tc := range []struct {
		name    string
		corrupt int // byte of the local copy to change after it was hashed, -1 for none
		workers int
		err     string
	}{
		{"intact", -1, 1, ""},
		{"intact, 3 checkers", -1, 3, ""},
		{"reused block changed", 2*bs + 1, 1, "block 2"},
		{"last partial block changed", len(want) - 1, 2, "block 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := wire.Entry{Name: "f", Size: int64(len(want)), Top: wt.Top()}
			f := newFileState(e, wt.Shape(), "f")
			f.local = lt
			for b := range wt.Shape().Blocks() {
				if b != 5 {
					f.reuse.Set(uint(b))
				}
			}
			now := bytes.Clone(local)
			if tc.corrupt >= 0 {
				now[tc.corrupt] ^= 0x80
			}
			if err := os.WriteFile(filepath.Join(dir, "f"), now, 0o600); err != nil {
				t.Fatal(err)
			}
			tmp, err := os.OpenFile(filepath.Join(dir, "tmp"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer tmp.Close()
			// The fetched block, as a worker would have written it.
			if _, err := tmp.WriteAt(want[5*bs:6*bs], 5*bs); err != nil {
				t.Fatal(err)
			}
			err = copyBlocks(context.Background(), root, f, tmp, f.reuse, tc.workers)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("copyBlocks = %v, want nil", err)
			case tc.err != "" && (!errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("copyBlocks = %v, want ErrVerify naming %q", err, tc.err)
			case tc.err == "":
				got, err := os.ReadFile(filepath.Join(dir, "tmp"))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatal("the temporary file does not hold the wanted content")
				}
			}
		})
	}
}

// TestRunsOf: runs of consecutive set blocks, cut at the byte limit.
func TestRunsOf(t *testing.T) {
	sh, err := merkle.NewShape(10*1024-100, 1024) // 10 blocks, the last short
	if err != nil {
		t.Fatal(err)
	}
	f := newFileState(wire.Entry{Size: sh.Size()}, sh, "f")
	for _, b := range []uint{0, 1, 2, 4, 7, 8, 9} {
		f.reuse.Set(b)
	}
	got := runsOf(f, f.reuse, 2048)
	want := []blockRun{
		{0, 2, 0, 2048}, {2, 1, 2048, 1024}, {4, 1, 4096, 1024}, {7, 2, 7168, 2048}, {9, 1, 9216, 924},
	}
	if len(got) != len(want) {
		t.Fatalf("runsOf = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("runsOf = %v, want %v", got, want)
		}
	}
}
