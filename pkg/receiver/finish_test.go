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

// TestTeeLocal: the local copy's first min(local, size) bytes are written into the
// destination as they are hashed, the tree describes them, and a destination that cannot be
// written is an error, not "no local copy".
func TestTeeLocal(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	local := bytes.Repeat([]byte("lcsync tee "), 30000) // 330000 bytes
	if err := os.WriteFile(filepath.Join(dir, "f"), local, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{int64(len(local)), 100000, int64(len(local)) + 5000} {
		dst, err := os.CreateTemp(dir, "dst")
		if err != nil {
			t.Fatal(err)
		}
		tr, err := teeLocal(context.Background(), root, "f", 4096, size, dst, treeBuilder{})
		if err != nil || tr == nil {
			t.Fatalf("size %d: teeLocal = %v, %v", size, tr, err)
		}
		n := min(size, int64(len(local)))
		want, _ := merkle.Build(context.Background(), bytes.NewReader(local[:n]), n, 4096, 1)
		got, err := os.ReadFile(dst.Name())
		if err != nil {
			t.Fatal(err)
		}
		if tr.Top() != want.Top() || !bytes.Equal(got, local[:n]) {
			t.Fatalf("size %d: tree or written bytes differ from the local copy's first %d bytes", size, n)
		}
		dst.Close()
	}
	closed, err := os.CreateTemp(dir, "closed")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if tr, err := teeLocal(context.Background(), root, "f", 4096, int64(len(local)), closed, treeBuilder{}); err == nil {
		t.Fatalf("teeLocal into a closed file = %v, nil; want an error", tr)
	}
	if tr, err := teeLocal(context.Background(), root, "missing", 4096, 10, closed, treeBuilder{}); tr != nil || err != nil {
		t.Fatalf("teeLocal of a missing local copy = %v, %v; want nothing", tr, err)
	}
}
