package receiver

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestHeldBlockNotOverwritten is the other way review C1's attack got a forged block into a
// file: a genuine block written before its leaf was known (held with its own hash as the
// candidate), then a forged copy of it completed and written over it in the temporary file,
// while the genuine candidate still claimed to describe the bytes there. Once the leaves
// verify, block 3 must hold the genuine bytes, or not count as done.
func TestHeldBlockNotOverwritten(t *testing.T) {
	const bs, n = 1024, 8
	rng := rand.New(rand.NewPCG(3, 4))
	blocks := make([][]byte, n)
	leaves := make([]merkle.Hash, n)
	for i := range blocks {
		blocks[i] = make([]byte, bs)
		for j := range blocks[i] {
			blocks[i][j] = byte(rng.Uint32())
		}
		leaves[i] = merkle.LeafHash(blocks[i])
	}
	top := merkle.Fold(leaves)
	forged := bytes.Clone(blocks[3])
	forged[0] ^= 0xa5
	shape, err := merkle.NewShape(n*bs, bs)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(Config{})
	f, tg := joinedFile(t, s, shape, top)

	block := func(b int, buf []byte) { // a worker verifies and writes a completed block
		s.mu.Lock()
		f.queued.Set(uint(b))
		s.mu.Unlock()
		s.processBatch(&verifier{}, []writeJob{{f: f, b: b, buf: bytes.Clone(buf)}})
	}
	block(3, blocks[3]) // held unverified: its candidate is its own hash
	block(3, forged)    // disagrees with that candidate
	for b := range leaves {
		if b != 3 { // the hash packet of leaf 3 was lost: the held block stands in for it
			s.mu.Lock()
			s.onTree(wire.TreePacket{Label: wire.LabelOf(top), Level: 0, Index: uint32(b), Hashes: leaves[b][:]}, netip.Addr{}, time.Now())
			s.mu.Unlock()
		}
	}
	if !tg.verified {
		t.Fatal("the genuine leaves did not verify")
	}
	got := make([]byte, bs)
	if _, err := f.tmp.ReadAt(got, 3*bs); err != nil {
		t.Fatal(err)
	}
	if f.done.Test(3) && !bytes.Equal(got, blocks[3]) {
		t.Fatal("block 3 is done, but the temporary file holds the forged bytes")
	}
	if !f.done.Test(3) && !f.queued.Test(3) {
		t.Fatal("block 3 is neither done nor queued to be read back and verified")
	}
}
