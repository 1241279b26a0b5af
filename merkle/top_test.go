package merkle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// TestTopMatchesBuild checks Top against Build's top over the size edges of every block
// size class, around slab boundaries (64 blocks of 16 KiB, 16 of 1 MiB) and with several
// worker counts.
func TestTopMatchesBuild(t *testing.T) {
	for _, bs := range []int{MinBlockSize, DefaultBlockSize, MaxBlockSize} {
		slab := max(slabBytes/bs, min(16, maxSlabBytes/bs)) * bs
		sizes := []int{0, 1, bs - 1, bs, bs + 1, 3*bs + 7, slab - 1, slab, slab + 1, 2*slab + bs, 5*slab - bs/2}
		for _, size := range sizes {
			data := patternBytes(size)
			tree := buildBytes(t, data, bs)
			for _, workers := range []int{0, 1, 3} {
				top, err := Top(context.Background(), bytes.NewReader(data), int64(size), bs, workers)
				if err != nil {
					t.Fatalf("bs %d size %d workers %d: %v", bs, size, workers, err)
				}
				if top != tree.Top() {
					t.Fatalf("bs %d size %d workers %d: Top differs from Build's", bs, size, workers)
				}
			}
		}
	}
}

// TestTopErrors checks that Top reports a short or failing reader, bad arguments and a
// cancelled context as Build does.
func TestTopErrors(t *testing.T) {
	errDisk := errors.New("disk on fire")
	const size = 8 << 20
	for _, tc := range []struct {
		name string
		r    io.ReaderAt
		want error
	}{
		{"reader fails late", failAfter{newPatternReader(size), size - 5000, errDisk}, errDisk},
		{"file shrank", bytes.NewReader(patternBytes(size - 1)), io.ErrUnexpectedEOF},
	} {
		for _, workers := range []int{1, 2} {
			if _, err := Top(context.Background(), tc.r, size, DefaultBlockSize, workers); !errors.Is(err, tc.want) {
				t.Fatalf("%s, %d workers: %v, want %v", tc.name, workers, err, tc.want)
			}
		}
	}
	if _, err := Top(context.Background(), newPatternReader(size), size, 3000, 1); err == nil {
		t.Fatal("a block size that is not a power of two was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Top(ctx, newPatternReader(size), size, DefaultBlockSize, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
