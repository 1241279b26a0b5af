package receiver

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestWriteBlocksMany checks writeBlocks over more buffers than one pwritev call takes, of
// uneven sizes, against the bytes written one by one.
func TestWriteBlocksMany(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var bufs [][]byte
	var want []byte
	for range 2*iovMax + 7 {
		b := make([]byte, 1+rng.IntN(300))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const off = 12345
	if err := writeBlocks(f, off, bufs); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != off+len(want) || !bytes.Equal(got[off:], want) || !bytes.Equal(got[:off], make([]byte, off)) {
		t.Fatalf("file of %d bytes does not hold the %d bytes written at %d", len(got), len(want), off)
	}
	ro, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := writeBlocks(ro, 0, bufs[:3]); err == nil {
		t.Fatal("writing into a read-only file did not fail")
	}
}

// TestBatchWritesVerifiedRuns checks a worker's batch whose leaves are all known: blocks out
// of order, a forged one in the middle and the short last block. Every genuine block is in
// the temporary file at its place and done, the forged one is neither written nor done (it
// comes again), and none stays queued.
func TestBatchWritesVerifiedRuns(t *testing.T) {
	const bs, n, size = 1024, 20, 20*1024 - 100
	rng := rand.New(rand.NewPCG(7, 8))
	shape, err := merkle.NewShape(size, bs)
	if err != nil {
		t.Fatal(err)
	}
	blocks := make([][]byte, n)
	leaves := make([]merkle.Hash, n)
	for i := range blocks {
		blocks[i] = make([]byte, shape.BlockLen(i))
		for j := range blocks[i] {
			blocks[i][j] = byte(rng.Uint32())
		}
		leaves[i] = merkle.LeafHash(blocks[i])
	}
	top := merkle.Fold(leaves)
	s := newSession(Config{})
	f, tg := joinedFile(t, s, shape, top)
	s.mu.Lock()
	s.onTree(wire.TreePacket{Label: wire.LabelOf(top), Level: 0, Index: 0, Hashes: hashBytes(leaves)}, netip.Addr{}, time.Now())
	s.mu.Unlock()
	if !tg.verified {
		t.Fatal("the leaves did not verify")
	}
	const forged = 9
	order := rng.Perm(n)
	for start := 0; start < n; start += verifyBatch {
		var batch []writeJob
		for _, b := range order[start:min(start+verifyBatch, n)] {
			buf := bytes.Clone(blocks[b])
			if b == forged {
				buf[5] ^= 1
			}
			s.mu.Lock()
			f.queued.Set(uint(b))
			s.mu.Unlock()
			batch = append(batch, writeJob{f: f, b: b, buf: buf})
		}
		s.processBatch(&verifier{}, batch)
	}
	got, err := os.ReadFile(f.tmp.Name())
	if err != nil {
		t.Fatal(err)
	}
	for b := range n {
		off := int(shape.BlockOffset(b))
		switch {
		case f.queued.Test(uint(b)):
			t.Errorf("block %d still queued", b)
		case b == forged && f.done.Test(uint(b)):
			t.Errorf("forged block %d counted done", b)
		case b == forged && len(got) > off && !bytes.Equal(got[off:off+bs], make([]byte, bs)):
			t.Errorf("forged block %d written", b)
		case b != forged && (!f.done.Test(uint(b)) || len(got) < off+len(blocks[b]) || !bytes.Equal(got[off:off+len(blocks[b])], blocks[b])):
			t.Errorf("block %d not written in place or not done", b)
		}
	}
	if len(got) != size {
		t.Errorf("temporary file of %d bytes, want %d", len(got), size)
	}
	if s.stats.Corrupt != 1 {
		t.Errorf("%d corrupt blocks counted, want 1", s.stats.Corrupt)
	}
}
