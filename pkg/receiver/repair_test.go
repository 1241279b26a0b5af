package receiver_test

import (
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestRepairOverReusedLeaves is review M9: a file of 32 blocks (page height 4) whose local
// copy differs in blocks 0-19. The walk verifies the leaves of blocks 0-19 and reuses blocks
// 20-31 at level 1, so their leaves stay unknown; the plan takes the top node whole. When the
// first cycle loses blocks 0-13 and 16-17, the repair's cover takes the top again (16 of 32
// blocks missing, on both halves): its hash must not be folded from the unknown leaves of
// the reused blocks (a group nobody serves, joined until the idle timeout), and the fetch
// completes in a few cycles.
func TestRepairOverReusedLeaves(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 32*1024)
	writeFile(t, filepath.Join(src, "f"), data)

	var mu sync.Mutex
	dropped := map[uint32]bool{}
	var top wire.Label
	n.Drop = func(_ netip.Addr, d []byte) bool {
		p, err := wire.ParseBlock(d)
		if err != nil {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if top == (wire.Label{}) {
			top = p.Label // the first data channel joined is the top's
		}
		if p.Label != top || !(p.Block < 14 || p.Block == 16 || p.Block == 17) || dropped[p.Block] {
			return false
		}
		dropped[p.Block] = true
		return true
	}
	serve(t, n, src, false)

	dst := filepath.Join(t.TempDir(), "f")
	local := append([]byte(nil), data...)
	for b := range 20 {
		local[b*1024+11] ^= 0x5a
	}
	writeFile(t, dst, local)
	start := time.Now()
	st := fetch(t, n.Conn(0), "share/f", dst, func(c *receiver.Config) { c.IdleTimeout = 8 * time.Second })
	sameFile(t, filepath.Join(src, "f"), dst)
	mu.Lock()
	lost := len(dropped)
	mu.Unlock()
	if lost != 16 {
		t.Fatalf("%d blocks dropped, want 16", lost)
	}
	if st.Needed != 20 || st.Reused != 12 {
		t.Errorf("needed %d reused %d, want 20 and 12", st.Needed, st.Reused)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to repair 16 lost blocks", d)
	}
	t.Logf("%v: stats %+v", time.Since(start), st)
}
