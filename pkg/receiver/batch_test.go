package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestDrainTakesWaitingBlocksUpToABatch checks that a worker takes the blocks waiting at that
// moment, no more than verifyBatch, and never waits for more.
func TestDrainTakesWaitingBlocksUpToABatch(t *testing.T) {
	jobs := make(chan writeJob, 2*verifyBatch)
	if got := drain(jobs, []writeJob{{b: -1}}); len(got) != 1 {
		t.Fatalf("drain of an empty channel: %d blocks, want the lone one", len(got))
	}
	for i := range verifyBatch + 3 {
		jobs <- writeJob{b: i}
	}
	got := drain(jobs, nil)
	if len(got) != verifyBatch {
		t.Fatalf("drain took %d blocks, want %d", len(got), verifyBatch)
	}
	for i, j := range got {
		if j.b != i {
			t.Fatalf("block %d taken as #%d: order lost", j.b, i)
		}
	}
	if len(jobs) != 3 {
		t.Fatalf("%d blocks left waiting, want 3", len(jobs))
	}
	close(jobs)
	if got := drain(jobs, nil); len(got) != 3 {
		t.Fatalf("drain of a closed channel took %d blocks, want the 3 left", len(got))
	}
}

// TestBacklogTakeBatches checks that the backlog hands out its oldest blocks a batch at a time
// and signals another worker while some remain.
func TestBacklogTakeBatches(t *testing.T) {
	q := &backlog{ready: make(chan struct{}, 1)}
	for i := range verifyBatch + 5 {
		q.push(writeJob{b: i})
	}
	<-q.ready
	got := q.take(nil)
	if len(got) != verifyBatch || got[0].b != 0 || got[verifyBatch-1].b != verifyBatch-1 {
		t.Fatalf("first take: %d blocks starting at %d, want %d from 0", len(got), got[0].b, verifyBatch)
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("blocks remain but no worker was signalled")
	}
	got = q.take(got[:0])
	if len(got) != 5 || got[0].b != verifyBatch {
		t.Fatalf("second take: %d blocks, want the 5 left", len(got))
	}
	if got := q.take(nil); len(got) != 0 {
		t.Fatalf("take of an empty backlog: %d blocks", len(got))
	}
	select {
	case <-q.ready:
		t.Fatal("an empty backlog signalled")
	default:
	}
}

// TestCheckBlocksFindsChangedBlock checks the copier's read-back check, which hashes a slab's
// blocks at once: an intact copy passes, and a copy with changed blocks (a full one, in a later
// slab, and the short last one) fails with ErrVerify naming the first changed block.
func TestCheckBlocksFindsChangedBlock(t *testing.T) {
	const bs = merkle.DefaultBlockSize
	size := int64(150*bs + 100) // three slabs and a short last block
	data := make([]byte, size)
	rand.New(rand.NewSource(1)).Read(data)
	shape, err := merkle.NewShape(size, bs)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := merkle.Build(context.Background(), bytes.NewReader(data), size, bs, 1)
	if err != nil {
		t.Fatal(err)
	}
	f := newFileState(wire.Entry{}, shape, "f.bin")
	f.local = tree
	all := bitset.New(uint(shape.Blocks()))
	all.SetRange(0, uint(shape.Blocks()))
	for _, workers := range []int{1, 2} {
		if err := checkBlocks(context.Background(), bytes.NewReader(data), f, all, workers); err != nil {
			t.Fatalf("intact copy, %d workers: %v", workers, err)
		}
	}
	for _, bad := range [][]int{{97, 130}, {shape.Blocks() - 1}, {0}} {
		changed := bytes.Clone(data)
		for _, b := range bad {
			changed[shape.BlockOffset(b)+int64(shape.BlockLen(b))-1] ^= 1
		}
		for _, workers := range []int{1, 2} {
			err := checkBlocks(context.Background(), bytes.NewReader(changed), f, all, workers)
			want := fmt.Sprintf("(block %d)", bad[0])
			if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), want) {
				t.Fatalf("blocks %v changed, %d workers: got %v, want ErrVerify naming %s", bad, workers, err, want)
			}
		}
	}
}
