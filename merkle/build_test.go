package merkle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/blake2s"
)

func TestBuildSizeEdges(t *testing.T) {
	for _, bs := range []int{MinBlockSize, DefaultBlockSize, MaxBlockSize} {
		sizes := []int{0, 1, bs - 1, bs, bs + 1}
		for k := 1; k <= 9; k++ {
			sizes = append(sizes, k*bs-bs/3)
		}
		for _, size := range sizes {
			data := patternBytes(size)
			tree := buildBytes(t, data, bs)
			s := tree.Shape()
			if want := (size + bs - 1) / bs; s.Blocks() != want {
				t.Fatalf("bs %d size %d: %d blocks, want %d", bs, size, s.Blocks(), want)
			}
			covered := 0
			for i := 0; i < s.Blocks(); i++ {
				if s.BlockOffset(i) != int64(covered) {
					t.Fatalf("bs %d size %d: block %d at %d, want %d", bs, size, i, s.BlockOffset(i), covered)
				}
				block := data[covered : covered+s.BlockLen(i)]
				if err := tree.VerifyBlock(i, block); err != nil {
					t.Fatalf("bs %d size %d: %v", bs, size, err)
				}
				covered += len(block)
			}
			if covered != size {
				t.Fatalf("bs %d size %d: blocks cover %d bytes", bs, size, covered)
			}
			if tree.Root() != refRoot(data, bs) {
				t.Fatalf("bs %d size %d: root differs from reference", bs, size)
			}
		}
	}
}

// TestBuildLarge hashes 256 MiB from a generated reader with the parallel
// builder and compares with a sequential single-goroutine computation.
func TestBuildLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the 256 MiB build in -short mode")
	}
	const size = 256 << 20
	const bs = DefaultBlockSize
	r := newPatternReader(size)
	tree, err := Build(context.Background(), r, size, bs, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The pattern repeats every 64 KiB, a multiple of bs, so leaves repeat
	// every 4 blocks: hash one period and check every leaf against it.
	period := patternBytes(patternPeriod)
	perPeriod := patternPeriod / bs
	for i, h := range tree.Level(0) {
		j := i % perPeriod
		if want := blake2s.Sum256(append([]byte{0}, period[j*bs:(j+1)*bs]...)); h != Hash(want) {
			t.Fatalf("leaf %d differs", i)
		}
	}
	if tree.Shape().Blocks() != size/bs || tree.Shape().Levels() != 15 {
		t.Fatalf("shape %v", tree.Shape())
	}
	again, err := FromLeaves(tree.Shape(), tree.Level(0))
	if err != nil {
		t.Fatal(err)
	}
	if again.Root() != tree.Root() {
		t.Fatal("sequential root differs")
	}
}

type errReaderAt struct{ err error }

func (r errReaderAt) ReadAt(p []byte, off int64) (int, error) { return 0, r.err }

// failAfter serves the pattern but fails reads at or beyond offset failAt.
type failAfter struct {
	r      io.ReaderAt
	failAt int64
	err    error
}

func (f failAfter) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.failAt {
		n, _ := f.r.ReadAt(p[:max(0, f.failAt-off)], off)
		return n, f.err
	}
	return f.r.ReadAt(p, off)
}

func TestBuildReadErrors(t *testing.T) {
	errDisk := errors.New("disk on fire")
	const size = 8 << 20
	tests := []struct {
		name    string
		r       io.ReaderAt
		size    int64
		wantErr error
	}{
		{"reader fails", errReaderAt{errDisk}, size, errDisk},
		{"reader fails late", failAfter{newPatternReader(size), size - 5000, errDisk}, size, errDisk},
		{"file shrank", bytes.NewReader(patternBytes(size - 1)), size, io.ErrUnexpectedEOF},
		{"file shrank by a block", newPatternReader(size - 16384), size, io.ErrUnexpectedEOF},
		{"empty reader", bytes.NewReader(nil), 1, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, workers := range []int{1, 2, 8} {
				tree, err := Build(context.Background(), tc.r, tc.size, 16384, workers)
				if tree != nil || !errors.Is(err, tc.wantErr) {
					t.Fatalf("Build = %v, %v; want error wrapping %v", tree, err, tc.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "merkle: reading blocks ") {
					t.Errorf("error %q does not say what was read", err)
				}
			}
		})
	}
}

func TestBuildBadArguments(t *testing.T) {
	tests := []struct {
		name string
		size int64
		bs   int
	}{
		{"bad block size", 10, 1000},
		{"negative size", -5, 1024},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Build(context.Background(), bytes.NewReader(nil), tc.size, tc.bs, 1); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestBuildCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, size := range []int64{0, 1, 10 << 20} {
		reads := &countingReader{r: newPatternReader(size)}
		tree, err := Build(ctx, reads, size, 1024, 2)
		if tree != nil || err != context.Canceled {
			t.Fatalf("size %d: Build = %v, %v; want context.Canceled", size, tree, err)
		}
		if n := reads.count(); n != 0 {
			t.Fatalf("size %d: %d reads after cancellation", size, n)
		}
	}
}

// countingReader counts reads and, if cancel is set, calls it on read
// number cancelAt.
type countingReader struct {
	r        io.ReaderAt
	mu       sync.Mutex
	n        int
	cancelAt int
	cancel   context.CancelFunc
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	c.n++
	if c.cancel != nil && c.n == c.cancelAt {
		c.cancel()
	}
	c.mu.Unlock()
	return c.r.ReadAt(p, off)
}

func (c *countingReader) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestBuildCancelledMidway cancels the context from inside the third read
// of a 64-slab build and checks that Build returns ctx.Err() after at most
// one more read per worker.
func TestBuildCancelledMidway(t *testing.T) {
	const size = 64 << 20
	for _, workers := range []int{1, 2, 4} {
		ctx, cancel := context.WithCancel(context.Background())
		reads := &countingReader{r: newPatternReader(size), cancelAt: 3, cancel: cancel}
		tree, err := Build(ctx, reads, size, DefaultBlockSize, workers)
		cancel()
		if tree != nil || err != context.Canceled {
			t.Fatalf("workers %d: Build = %v, %v; want context.Canceled", workers, tree, err)
		}
		if n := reads.count(); n > 3+workers {
			t.Fatalf("workers %d: %d reads, want at most %d after cancelling on read 3", workers, n, 3+workers)
		}
	}
}

// TestBuildSmallFileAllocatesLittle: hashing a small file allocates about its size, not a
// slab of blocks (a share of 100,000 small files allocated 256 KiB for each, 25 GB in all,
// and the server's heap grew to 240 MiB on the way).
func TestBuildSmallFileAllocatesLittle(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100)
	r := bytes.NewReader(data)
	const runs = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := Build(context.Background(), r, int64(len(data)), DefaultBlockSize, 2); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 8<<10 {
		t.Errorf("Build of a 100-byte file allocates %d bytes, want under 8 KiB", per)
	}
}

// TestSmallTreeIsSmall checks what a one-block tree keeps once built: a share of 100,000 small
// files holds 100,000 of them (232 bytes each with the level table and the stored-tree fields
// in every tree; 157 with only the struct and the one node).
func TestSmallTreeIsSmall(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100)
	const n = 2000
	trees := make([]*Tree, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range trees {
		tr, err := Build(context.Background(), bytes.NewReader(data), int64(len(data)), DefaultBlockSize, 1)
		if err != nil {
			t.Fatal(err)
		}
		trees[i] = tr
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if per := (after.HeapAlloc - before.HeapAlloc) / n; per > 200 {
		t.Errorf("a one-block tree keeps %d bytes, want at most 200", per)
	}
	for _, tr := range trees {
		if tr.Root() != trees[0].Root() || tr.Leaf(0) != LeafHash(data) || len(tr.Level(0)) != 1 {
			t.Fatal("one-block trees differ or lost their leaf")
		}
	}
}
