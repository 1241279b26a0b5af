package receiver_test

import (
	"path/filepath"
	"testing"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
)

// TestFetchRebuildsFromParity: a receiver that loses 3% of its datagrams and joins three
// parity layers rebuilds nearly every damaged block from parity instead of repairing it.
func TestFetchRebuildsFromParity(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	writeFile(t, filepath.Join(src, "f"), randBytes(t, 8<<20))
	serveWith(t, n, src, serveOpts{bs: 16384})
	dst := filepath.Join(t.TempDir(), "f")
	st := fetch(t, n.Conn(0.03), "share/f", dst, func(c *receiver.Config) { c.FEC = 3 })
	sameFile(t, filepath.Join(src, "f"), dst)
	t.Logf("%+v", st)
	// 512 blocks of 12 pieces: about 30% lose a piece, nearly all of them with at most 3.
	if st.Rebuilt < 100 || st.FECLayers != 3 || st.ParityPackets == 0 {
		t.Fatalf("rebuilt %d blocks from %d parity shards with %d layers", st.Rebuilt, st.ParityPackets, st.FECLayers)
	}
}
