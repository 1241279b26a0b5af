package receiver_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
)

// TestFetchStoredLeaves: files whose leaf hashes are kept in a temporary file (StoredLeaves
// far below their block count, so the leaf table's cache of 16 pages of 1,024 leaves is
// churned) arrive exactly: fresh under 5% loss (lost hash packets, repairs, leaf walks), a
// file of identical blocks, and a delta against an old copy. Nothing is left in LeafDir.
func TestFetchStoredLeaves(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	big := randBytes(t, 40000*1024+17) // 40,001 blocks of 1 KiB: 40 pages
	writeFile(t, filepath.Join(src, "big"), big)
	writeFile(t, filepath.Join(src, "same"), sameBlocks(t))
	serveWith(t, n, src, serveOpts{rate: 400e6})
	leafDir := t.TempDir()
	stored := func(c *receiver.Config) {
		c.StoredLeaves, c.LeafDir = 100, leafDir
		c.IdleTimeout = 15 * time.Second
	}
	dst := t.TempDir()
	st := fetch(t, n.Conn(0.05), "share/", dst, func(c *receiver.Config) { stored(c); c.FEC = -1 })
	sameFile(t, filepath.Join(src, "big"), filepath.Join(dst, "big"))
	sameFile(t, filepath.Join(src, "same"), filepath.Join(dst, "same"))
	t.Logf("fresh: %+v", st)

	old := append([]byte(nil), big...)
	for b := 7; b < 40000; b += 1999 {
		old[b*1024+5] ^= 1
	}
	writeFile(t, filepath.Join(dst, "big"), old)
	st = fetch(t, n.Conn(0.05), "share/big", filepath.Join(dst, "big"), stored)
	sameFile(t, filepath.Join(src, "big"), filepath.Join(dst, "big"))
	if st.Needed != 21 {
		t.Errorf("delta fetched %d blocks, want 21", st.Needed)
	}
	if ents, _ := os.ReadDir(leafDir); len(ents) != 0 {
		t.Errorf("%d names left in the leaf directory", len(ents))
	}
}
