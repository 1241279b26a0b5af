package receiver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestForgedHashAfterLeafWalk: a leaf verified by a leaf walk is never overwritten by a hash
// packet on a data channel whose run covers it (such a packet may be forged): the run keeps
// the verified leaf and still folds.
func TestForgedHashAfterLeafWalk(t *testing.T) {
	const bs, n = 1024, 4
	leaves := make([]merkle.Hash, n)
	for i := range leaves {
		leaves[i] = merkle.LeafHash([]byte{byte(i)})
	}
	top := merkle.Fold(leaves)
	shape, err := merkle.NewShape(n*bs, bs)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(Config{})
	f := newFileState(wire.Entry{Name: "f", Size: n * bs}, shape, "f")
	f.needAll()
	tg := f.dataTarget(shape.TopLevel(), 0, top)
	s.enqueue(netip.MustParseAddr("ff15::1"), subData, tg)
	s.leavesVerified(f, 0, 2, func(b int) merkle.Hash { return leaves[b] }) // a leaf walk verified leaves 0 and 1

	forged := make([]byte, 2*merkle.HashSize)
	forged[0] = 1
	s.onTree(wire.TreePacket{Label: wire.LabelOf(top), Level: 0, Index: 0, Hashes: forged}, netip.Addr{}, time.Now())
	if f.leaves.get(0) != leaves[0] || f.leaves.get(1) != leaves[1] {
		t.Fatal("a hash packet overwrote a verified leaf")
	}
	// The genuine rest of the run completes it.
	rest := append(append([]byte(nil), leaves[2][:]...), leaves[3][:]...)
	s.onTree(wire.TreePacket{Label: wire.LabelOf(top), Level: 0, Index: 2, Hashes: rest}, netip.Addr{}, time.Now())
	if !tg.verified || f.leafOK.Count() != n || s.stats.Corrupt != 0 {
		t.Fatalf("run verified %v, %d leaves verified, corrupt %d", tg.verified, f.leafOK.Count(), s.stats.Corrupt)
	}
}
