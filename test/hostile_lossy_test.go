package test

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestHostileDatagramsLossy is the attack of testHostileDatagrams (forged block pieces, tree
// packets, manifest chunks, garbage) during a fetch that loses 3% of its datagrams, so that
// repairs and rejoins happen under attack, and for as long as the fetch runs, not a window
// of it (issue 14). The copy must be exact, memory bounded, and the fetch must complete while
// the attack goes on.
func TestHostileDatagramsLossy(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	rig.SetLoss(t, 1, 3)
	const bs = 16384
	src := filepath.Join(t.TempDir(), "lossy")
	writeFile(t, filepath.Join(src, "big.bin"), 8<<20+99, 51, 0o644)
	writeFile(t, filepath.Join(src, "small.bin"), 50000, 52, 0o644)
	startServer(t, rig.Sender, "--bwlimit", "100M", src)
	nodes := append(hostileTargets(t, filepath.Join(src, "big.bin"), bs, 3),
		hostileTargets(t, filepath.Join(src, "small.bin"), bs, 1)...)
	manifest := mcast.ManifestGroup(mcast.ScopeSite, "lossy")
	stream := mcast.StreamGroup(mcast.ScopeSite, "lossy")

	attacker := newInjector(t, rig.Receivers[1])
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second) // until the fetch ends
	defer cancel()
	rng := rand.New(rand.NewPCG(5, 6))
	attack := attacker.repeat(ctx, 250*time.Microsecond, 1<<30, func(i int) (netip.Addr, []byte) {
		return hostileDatagram(rng, i, manifest, stream, nodes, bs)
	})
	time.Sleep(50 * time.Millisecond) // the attack is under way before the fetch joins

	dst := filepath.Join(t.TempDir(), "dst")
	r := fetch(rig.Receivers[0], "--timeout", "60s", "--stats", "lossy/", dst)
	attacking := ctx.Err() == nil
	cancel()
	ar := <-attack
	t.Logf("attacker sent %d datagrams (%v); %s", ar.sent, ar.err, r)
	if !attacking {
		t.Fatal("the attack stopped before the fetch ended")
	}
	if crashed(r) {
		t.Fatalf("BUG: the receiver crashed under attack:\n%.2000s", r.stderr)
	}
	st := mustSucceed(t, r)
	compareTrees(t, src, dst, compareOpts{})
	if st.Malformed == 0 || st.Foreign == 0 {
		t.Errorf("stats: %v; want malformed and foreign counts > 0 under attack", st)
	}
	if r.maxRSS > hostileRSSBound {
		t.Errorf("receiver peak RSS %d MiB, want at most %d MiB", r.maxRSS>>20, hostileRSSBound>>20)
	}
}
