package receiver_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
)

// sameBlocks is a file of 2,000 identical 1 KiB blocks with three distinct ones among them,
// like a sparse file or a VM image with zero regions: every subtree of the zero region is
// the same, so its nodes at each level share one group.
func sameBlocks(t *testing.T) []byte {
	data := bytes.Repeat([]byte{0}, 2003*1024)
	for _, b := range []int{17, 1000, 2002} {
		copy(data[b*1024:], randBytes(t, 1024))
	}
	return data
}

// TestFetchSameBlocksUnderLoss: with 5% of datagrams lost, a file of many identical blocks
// arrives and verifies in bounded time, with parity off and on.
func TestFetchSameBlocksUnderLoss(t *testing.T) {
	for _, tc := range []struct {
		name string
		fec  int
	}{{"fec-off", -1}, {"fec-auto", 0}, {"fec-2", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			n := mcasttest.NewNet()
			src := filepath.Join(t.TempDir(), "share")
			writeFile(t, filepath.Join(src, "f"), sameBlocks(t))
			serve(t, n, src, false)
			dst := filepath.Join(t.TempDir(), "f")
			start := time.Now()
			st := fetch(t, n.Conn(0.05), "share/f", dst, func(c *receiver.Config) {
				c.FEC = tc.fec
				c.IdleTimeout = 10 * time.Second
				c.Timeout = 20 * time.Second
			})
			sameFile(t, filepath.Join(src, "f"), dst)
			t.Logf("%v: stats %+v", time.Since(start), st)
		})
	}
}
