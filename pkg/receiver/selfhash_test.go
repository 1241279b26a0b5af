package receiver

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestSelfHashedLeaves: blocks written before their leaf is known stand in for the hash
// packets that were lost: once they fill the gap, the run folds to the node, and every block
// held unverified is done without being read back. A block that disagrees with a hash
// packet's candidate is dropped, and a forged block in a gap fails the fold and verifies
// nothing.
func TestSelfHashedLeaves(t *testing.T) {
	const bs, n = 1024, 8
	rng := rand.New(rand.NewPCG(1, 2))
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
	shape, err := merkle.NewShape(n*bs, bs)
	if err != nil {
		t.Fatal(err)
	}
	setup := func() (*session, *fileState, *target) {
		s := newSession(Config{})
		f := newFileState(wire.Entry{Name: "f", Size: n * bs}, shape, "f")
		for b := range n {
			f.need.Set(uint(b))
		}
		f.remaining = n
		tg := f.dataTarget(shape.TopLevel(), 0, top)
		s.enqueue(netip.MustParseAddr("ff15::1"), subData, tg)
		// Hash packets brought the candidates of blocks 0-4; those of 5-7 were lost.
		for b := range 5 {
			tg.setRun(b, leaves[b]) // the leaf run is f.leaves
			tg.have.Set(uint(b))
			f.leafHave.Set(uint(b))
		}
		return s, f, tg
	}

	s, f, tg := setup()
	for b := range n {
		s.heldUnverified(f, b, leaves[b])
	}
	if !tg.verified || f.remaining != 0 || f.unverified.Any() || f.queued.Any() {
		t.Fatalf("after every block: run verified %v, remaining %d, unverified %d, queued %d",
			tg.verified, f.remaining, f.unverified.Count(), f.queued.Count())
	}
	if f.done.Count() != n {
		t.Fatalf("%d blocks done, want %d", f.done.Count(), n)
	}

	// A block that disagrees with its hash packet's candidate is not kept.
	s, f, tg = setup()
	bad := merkle.LeafHash([]byte("forged"))
	s.heldUnverified(f, 2, bad)
	if f.unverified.Test(2) || s.stats.Corrupt != 1 {
		t.Fatalf("a block disagreeing with its candidate was kept (corrupt %d)", s.stats.Corrupt)
	}

	// A forged block in the gap: the run does not fold, nothing is done, and the candidates
	// are forgotten.
	for b := range 5 {
		s.heldUnverified(f, b, leaves[b])
	}
	s.heldUnverified(f, 5, bad)
	s.heldUnverified(f, 6, leaves[6])
	s.heldUnverified(f, 7, leaves[7])
	if tg.verified || f.done.Any() || f.leafOK.Any() {
		t.Fatalf("a forged block verified: run %v, done %d, leaves %d", tg.verified, f.done.Count(), f.leafOK.Count())
	}
	if f.selfHashed.Any() || s.stats.Corrupt != 2 {
		t.Fatalf("after a failed fold: %d self-hashed candidates left, corrupt %d", f.selfHashed.Count(), s.stats.Corrupt)
	}
}
