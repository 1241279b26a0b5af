package test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/netnstest"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestHostileForgedLeaves is review C1. During a fetch that loses 5% of its packets, a host on
// the link keeps sending well-formed forgeries for every block j of the file: a leaf-level
// tree packet under the file's top label claiming hash Y_j = LeafHash(B'_j), and the block
// B'_j itself, on the file's data channel and on DataGroup(Y_j), which a receiver that
// believed Y_j would join. Leaves verified through the tree must not be replaced by such
// candidates; whatever happens, the destination never holds a forged byte, and once the
// attack stops the fetch completes. Blocks are 1 KiB, so a whole forged block fits one
// datagram.
func TestHostileForgedLeaves(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 3})
	rig.SetLoss(t, 1, 5)
	rig.SetLoss(t, 2, 5)
	const bs = 1024
	const size = 4 << 20
	src := filepath.Join(t.TempDir(), "forged")
	writeFile(t, filepath.Join(src, "f.bin"), size, 131, 0o644)
	genuine, err := os.ReadFile(filepath.Join(src, "f.bin"))
	if err != nil {
		t.Fatal(err)
	}
	startServer(t, rig.Sender, "--blocksz", "1024", "--bwlimit", "60M", src)
	top := hostileTargets(t, filepath.Join(src, "f.bin"), bs, 0)[0]

	// The forgeries: B'_j differs from the genuine block j in its first byte only, so a
	// forged block in the copy shows as exactly that.
	blocks := size / bs
	forged := make([][]byte, blocks)
	hashes := make([]merkle.Hash, blocks)
	for j := range blocks {
		forged[j] = bytes.Clone(genuine[j*bs : (j+1)*bs])
		forged[j][0] ^= 0xa5
		hashes[j] = merkle.LeafHash(forged[j])
	}
	const perTree = 40
	var queue []struct {
		g netip.Addr
		p []byte
	}
	add := func(g netip.Addr, p []byte) {
		queue = append(queue, struct {
			g netip.Addr
			p []byte
		}{g, p})
	}
	for first := 0; first < blocks; first += perTree {
		n := min(perTree, blocks-first)
		var hs []byte
		for j := first; j < first+n; j++ {
			hs = append(hs, hashes[j][:]...)
		}
		pkt := wire.AppendTree(nil, wire.TreePacket{Label: top.label, Level: 0, Index: uint32(first), Hashes: hs})
		add(top.data, pkt)
		add(top.tree, pkt)
		for j := first; j < first+n; j++ {
			blk := wire.AppendBlock(nil, wire.BlockPacket{Label: top.label, Block: uint32(j), Data: forged[j]})
			add(top.data, blk)
			// A receiver that took Y_j would fetch block j on Y_j's own data channel, under
			// Y_j's label.
			own := wire.AppendBlock(nil, wire.BlockPacket{Label: wire.LabelOf(hashes[j]), Block: 0, Data: forged[j]})
			add(mcast.DataGroup(mcast.ScopeSite, hashes[j]), own)
		}
	}
	rng := rand.New(rand.NewPCG(15, 16))
	attacker := newInjector(t, rig.Receivers[2])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := attacker.burst(ctx, time.Millisecond, 32, func(i int) (netip.Addr, []byte) {
		// Mostly in order, so every block is covered each round, with a random one mixed in.
		k := i % len(queue)
		if i%4 == 3 {
			k = rng.IntN(len(queue))
		}
		return queue[k].g, queue[k].p
	})
	time.Sleep(100 * time.Millisecond)
	dsts := []string{filepath.Join(t.TempDir(), "f.bin"), filepath.Join(t.TempDir(), "f.bin")}
	res := fetchEach(rig.Receivers[:2], func(i int) []string {
		return []string{"--timeout", "40s", "--idle-timeout", "8s", "forged/f.bin", dsts[i]}
	})
	cancel()
	ar := <-done
	t.Logf("attacker sent %d forgeries (%v)", ar.sent, ar.err)
	for i, r := range res {
		t.Run([]string{"r1", "r2"}[i], func(t *testing.T) {
			if got, err := os.ReadFile(dsts[i]); err == nil && !bytes.Equal(got, genuine) {
				var bad []int
				for j := range blocks {
					if j*bs < len(got) && bytes.Equal(got[j*bs:min(len(got), (j+1)*bs)], forged[j]) {
						bad = append(bad, j)
					}
				}
				t.Fatalf("BUG: the destination holds %d forged blocks (e.g. %v) and exit %d (review C1): verified leaves were replaced",
					len(bad), bad[:min(len(bad), 5)], r.code)
			}
			st := mustSucceed(t, r)
			compareTrees(t, filepath.Join(src, "f.bin"), dsts[i], compareOpts{})
			t.Logf("peak RSS %d MiB; %v", r.maxRSS>>20, st)
			if r.maxRSS > hostileRSSBound {
				t.Errorf("receiver peak RSS %d MiB, want at most %d MiB", r.maxRSS>>20, hostileRSSBound>>20)
			}
		})
	}
}
