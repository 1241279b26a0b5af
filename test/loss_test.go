package test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestLoss drops 5% of the packets towards every receiver (each loses its own random set) and
// has three receivers fetch a directory at once; every copy must be exact.
func TestLoss(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 3})
	for i := range rig.Receivers {
		rig.SetLoss(t, i+1, 5)
	}
	src := filepath.Join(t.TempDir(), "lossy")
	writeFile(t, filepath.Join(src, "big.bin"), 12<<20+5, 31, 0o644)
	writeFile(t, filepath.Join(src, "dir", "medium.bin"), 300000, 32, 0o644)
	writeFile(t, filepath.Join(src, "dir", "tiny"), 10, 33, 0o644)
	startServer(t, rig.Sender, src)
	dsts := make([]string, len(rig.Receivers))
	for i := range dsts {
		dsts[i] = filepath.Join(t.TempDir(), "dst")
	}
	res := fetchEach(rig.Receivers, func(i int) []string { return []string{"lossy/", dsts[i]} })
	for i, r := range res {
		t.Run(fmt.Sprintf("r%d", i+1), func(t *testing.T) {
			st := mustSucceed(t, r)
			compareTrees(t, src, dsts[i], compareOpts{})
			if st.Rejoins == 0 {
				t.Logf("no rejoin was needed despite the loss: %v", st)
			}
		})
	}
	if out, err := rig.Bridge.Run("nft", "list", "table", "bridge", "lc_impair"); err == nil {
		t.Logf("loss rules after the run:\n%s", out)
	}
}

// TestHostileTrickleStallsRejoin: a receiver that lost part of a cycle must rejoin the channel
// to get the rest. A trickle of datagrams that carry the channel's label but are useless
// (block indices out of range: malformed, never stored) must not stop it from noticing that
// the channel went quiet. The rig has no bridge querier, so no general query comes to the
// rescue within the test (the lcsync server's own startup queries are 31 s apart).
func TestHostileTrickleStallsRejoin(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2, NoQuerier: true})
	rig.SetLoss(t, 1, 5)
	const bs = 16384
	src := filepath.Join(t.TempDir(), "trickle")
	writeFile(t, filepath.Join(src, "big.bin"), 8<<20+1, 41, 0o644)
	startServer(t, rig.Sender, src)
	top := hostileTargets(t, filepath.Join(src, "big.bin"), bs, 0)[0]

	fetchIt := func(t *testing.T) fetchResult {
		dst := filepath.Join(t.TempDir(), "big.bin")
		r := fetch(rig.Receivers[0], "--timeout", "15s", "trickle/big.bin", dst)
		if r.code == 0 {
			compareTrees(t, filepath.Join(src, "big.bin"), dst, compareOpts{})
		}
		return r
	}
	// The trickle runs first, while the server has not yet served this host: its first cycle is
	// granted, loses about 5% of the pieces, and the rest needs a rejoin.
	t.Run("with-trickle", func(t *testing.T) {
		attacker := newInjector(t, rig.Receivers[1])
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		bad := wire.AppendBlock(nil, wire.BlockPacket{Label: top.label, Block: uint32(top.leaves + 1000), Data: []byte("x")})
		done := attacker.repeat(ctx, 50*time.Millisecond, 1000, func(int) (netip.Addr, []byte) { return top.data, bad })
		r := fetchIt(t)
		cancel()
		ar := <-done
		t.Logf("trickle: %d datagrams to %s (%v)", ar.sent, top.data, ar.err)
		if r.code != 0 {
			t.Fatalf("BUG: 20 useless datagrams a second on the channel kept the receiver from rejoining it "+
				"(pkg/receiver updates a channel's lastPacket before checking the datagram, so silent() never fires): %s", r)
		}
		st := mustSucceed(t, r)
		if st.Malformed == 0 {
			t.Errorf("stats: %v; the trickle should show as malformed", st)
		}
	})
	// The same fetch without the trickle recovers by rejoining (this is the control).
	t.Run("without-trickle", func(t *testing.T) {
		mustSucceed(t, fetchIt(t))
	})
}

// TestLossSparse: a sparse file (every block of its holes is the same, so each level of its
// tree has one group for all of them) fetched with 2% loss must complete, with parity off and
// on. The repairs of many nodes share one group; before the fix only the first of them was
// repaired and the fetch stalled with hundreds of blocks missing.
func TestLossSparse(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	rig.SetLoss(t, 1, 2)
	src := filepath.Join(t.TempDir(), "sparse")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(src, "disk.img"))
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 5 << 20, 40<<20 + 123} {
		if _, err := f.WriteAt([]byte("not a hole"), off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	startServer(t, rig.Sender, src)
	for _, fec := range []string{"off", "2"} {
		t.Run("fec-"+fec, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "disk.img")
			r := fetch(rig.Receivers[0], "--fec", fec, "--timeout", "60s", "sparse/disk.img", dst)
			st := mustSucceed(t, r)
			compareTrees(t, filepath.Join(src, "disk.img"), dst, compareOpts{})
			t.Logf("%.1fs: %v", r.elapsed.Seconds(), st)
		})
	}
}
