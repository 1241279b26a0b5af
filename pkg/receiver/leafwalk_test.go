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
