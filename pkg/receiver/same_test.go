package receiver_test

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"

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

// TestFetchStalledRepairKeepsItsChannel: a repair channel whose cycle starts with a long run
// of blocks this host already has brings nothing verifiable for a while, and counts as
// stalled. Replacing it by its parent's (the only node above it) would start that channel's
// cycle from the top, over blocks already in, and stall again: the two swapped forever
// (seen fetching 16 GiB). It is joined again instead, and its cycle goes on to the blocks
// still missing.
func TestFetchStalledRepairKeepsItsChannel(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	const blocks = 4096
	data := randBytes(t, blocks*1024)
	writeFile(t, filepath.Join(src, "f"), data)
	// The first pass loses every block of the last 3/8 of the file but one in 8: the repair
	// covers the second half whole, whose first quarter is already in.
	var mu sync.Mutex
	seen := map[uint32]bool{}
	top := wire.LabelOf(topOf(t, data))
	n.Drop = func(_ netip.Addr, d []byte) bool {
		p, err := wire.ParseBlock(d)
		if err != nil {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		b := p.Block // the top channel's indices are absolute
		if seen[b] || p.Label != top {
			return false
		}
		seen[b] = true
		return b >= blocks*5/8 && b%8 != 0
	}
	serveWith(t, n, src, serveOpts{rate: 16e6})
	dst := filepath.Join(t.TempDir(), "f")
	st := fetch(t, n.Conn(0), "share/f", dst, func(c *receiver.Config) {
		c.FEC = -1
		c.StallAfter = 100 * time.Millisecond
		c.Retrigger = 30 * time.Second
		c.IdleTimeout = 8 * time.Second
	})
	sameFile(t, filepath.Join(src, "f"), dst)
	t.Logf("stats %+v", st)
}

// topOf returns the top hash of data in 1 KiB blocks.
func topOf(t *testing.T, data []byte) merkle.Hash {
	tr, err := merkle.Build(context.Background(), bytes.NewReader(data), int64(len(data)), 1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Top()
}
