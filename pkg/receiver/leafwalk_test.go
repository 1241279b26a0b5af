package receiver_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/receiver"
)

// TestFetchHeavyLoss: with a fifth of all datagrams lost (tree packets too), a directory still
// arrives exactly, through leaf walks and narrow repairs.
func TestFetchHeavyLoss(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "lossy")
	writeFile(t, filepath.Join(src, "big.bin"), randBytes(t, 769*1024+5))
	writeFile(t, filepath.Join(src, "small.bin"), randBytes(t, 20000))
	serveRate(t, n, src, false, 50e6)
	dst := t.TempDir()
	st := fetch(t, n.receiver(0.2), "lossy/", dst, func(c *receiver.Config) { c.IdleTimeout = 15 * time.Second })
	sameFile(t, filepath.Join(src, "big.bin"), filepath.Join(dst, "big.bin"))
	t.Logf("stats %+v", st)
}

// TestFetchDeltaInPromotedTail: a file of 770 blocks ends in a subtree whose nodes at levels
// 6, 2 and 1 are one promoted chain (one hash); a delta that changed its last blocks must walk
// through the right pages (tree channels are keyed by level) and finish.
func TestFetchDeltaInPromotedTail(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 769*1024+5)
	writeFile(t, filepath.Join(src, "f"), data)
	serve(t, n, src, false)
	dst := filepath.Join(t.TempDir(), "f")
	old := append([]byte(nil), data...)
	old[768*1024+3] ^= 1
	old[769*1024+1] ^= 1
	writeFile(t, dst, old)
	st := fetch(t, n.receiver(0), "share/f", dst, func(c *receiver.Config) { c.IdleTimeout = 5 * time.Second })
	sameFile(t, filepath.Join(src, "f"), dst)
	if st.Needed != 2 {
		t.Errorf("needed %d blocks, want 2", st.Needed)
	}
}
