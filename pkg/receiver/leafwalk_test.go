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

// TestFetchHeavyLoss: with a fifth of all datagrams lost (tree packets too), a directory still
// arrives exactly, through leaf walks and narrow repairs.
func TestFetchHeavyLoss(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "lossy")
	writeFile(t, filepath.Join(src, "big.bin"), randBytes(t, 769*1024+5))
	writeFile(t, filepath.Join(src, "small.bin"), randBytes(t, 20000))
	serveWith(t, n, src, serveOpts{rate: 50e6})
	dst := t.TempDir()
	st := fetch(t, n.Conn(0.2), "lossy/", dst, func(c *receiver.Config) { c.IdleTimeout = 15 * time.Second })
	sameFile(t, filepath.Join(src, "big.bin"), filepath.Join(dst, "big.bin"))
	t.Logf("stats %+v", st)
}

// TestFetchDeltaInPromotedTail: a file of 770 blocks ends in a subtree whose nodes at levels
// 6, 2 and 1 are one promoted chain (one hash); a delta that changed its last blocks must walk
// through the right pages (tree channels are keyed by level) and finish.
func TestFetchDeltaInPromotedTail(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 769*1024+5)
	writeFile(t, filepath.Join(src, "f"), data)
	serve(t, n, src, false)
	dst := filepath.Join(t.TempDir(), "f")
	old := append([]byte(nil), data...)
	old[768*1024+3] ^= 1
	old[769*1024+1] ^= 1
	writeFile(t, dst, old)
	st := fetch(t, n.Conn(0), "share/f", dst, func(c *receiver.Config) { c.IdleTimeout = 5 * time.Second })
	sameFile(t, filepath.Join(src, "f"), dst)
	if st.Needed != 2 {
		t.Errorf("needed %d blocks, want 2", st.Needed)
	}
}

// TestFetchDeltaLossyWalk: tree pages go out once; with a fifth of all datagrams lost, a
// delta walk still finds exactly the changed blocks, joining a page again when its end marker
// came without it, and does so quickly (the fetch, not a 1.6 s wait per lost page).
func TestFetchDeltaLossyWalk(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 2048*1024) // 2048 blocks of 1 KiB: pages at levels 11, 7 and 3
	writeFile(t, filepath.Join(src, "f"), data)
	serve(t, n, src, false)
	dst := filepath.Join(t.TempDir(), "f")
	old := append([]byte(nil), data...)
	for b := 5; b < 2048; b += 97 {
		old[b*1024+7] ^= 1
	}
	writeFile(t, dst, old)
	start := time.Now()
	st := fetch(t, n.Conn(0.2), "share/f", dst, func(c *receiver.Config) { c.IdleTimeout = 10 * time.Second })
	sameFile(t, filepath.Join(src, "f"), dst)
	t.Logf("%v: stats %+v", time.Since(start), st)
	if st.Needed != 22 {
		t.Errorf("needed %d blocks, want 22", st.Needed)
	}
	if st.Rejoins == 0 {
		t.Errorf("no page was joined again at 20%% loss")
	}
}

// TestFetchLostHashPacket: a data channel sends a file's leaf hashes before its blocks; when
// one hash packet is lost, the receiver fetches the leaves it lacks through tree pages while
// the blocks still come, and verifies them as they arrive, not when the cycle ends or stalls.
func TestFetchLostHashPacket(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 2048*1024) // 2048 blocks of 1 KiB: a 48-packet hash run
	writeFile(t, filepath.Join(src, "f"), data)
	dropped := false
	var mu sync.Mutex
	n.Drop = func(_ netip.Addr, d []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		p, err := wire.ParseTree(d)
		if dropped || err != nil || p.Level != 0 || p.Index == 0 || len(p.Hashes) == 0 {
			return false
		}
		dropped = true // the second packet of the first level-0 run: the data channel's
		return true
	}
	serveWith(t, n, src, serveOpts{rate: 12e6}) // a cycle of about 1.5 s
	dst := filepath.Join(t.TempDir(), "f")
	var early int64 = -1
	st := fetch(t, n.Conn(0), "share/f", dst, func(c *receiver.Config) {
		c.StallAfter = 30 * time.Second
		c.Retrigger = 30 * time.Second
		c.OnProgress = func(p receiver.Progress) {
			if early < 0 && p.Received >= int64(len(data))*3/4 {
				early = p.BytesDone
			}
		}
	})
	sameFile(t, filepath.Join(src, "f"), dst)
	if !dropped {
		t.Fatal("no hash packet was dropped")
	}
	if early <= 0 {
		t.Errorf("no block verified by the time 3/4 of the file had arrived (done %d)", early)
	}
	t.Logf("verified %d bytes at 3/4 received; stats %+v", early, st)
}
