package test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestFollowersShareBlockChange: one changed block of a 16 MiB file costs about the same on
// the server's link for four followers as for one (issue 16: "≤ 64 KiB data + manifest on
// the wire for any N"): the followers hash their copies and join the file's root page at
// different times, and the page waits for the hosts that fetched the object listing the
// file, so that one walk serves all (measured: 22.1-22.6 KB for one follower, 25.4-25.7 KB
// for four; 65.7-82.8 KB for four before the page waited for them).
func TestFollowersShareBlockChange(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 4})
	src := filepath.Join(t.TempDir(), "work")
	for i := range 20 {
		writeFile(t, filepath.Join(src, "docs", fmt.Sprintf("p%02d", i)), int64(2000+i), uint64(10+i), 0o644)
	}
	big := filepath.Join(src, "big.bin")
	writeFile(t, big, 16<<20, 1, 0o644)
	startServer(t, rig.Sender, "--watch", src)
	block := make([]byte, 4096)
	linkBytes := func() uint64 {
		rx, tx, err := rig.Sender.LinkBytes(netnstest.Iface)
		if err != nil {
			t.Fatal(err)
		}
		return rx + tx
	}
	measure := func(n int) uint64 {
		t.Helper()
		var fls []*server
		var dsts []string
		for i := range n {
			dst := filepath.Join(t.TempDir(), "mirror")
			fls = append(fls, startFollower(t, rig.Receivers[i], "-a", "--follow", "work/", dst))
			dsts = append(dsts, dst)
		}
		for _, dst := range dsts {
			waitMirror(t, src, dst, "the first pass")
		}
		time.Sleep(time.Second) // quiet: the first passes' channels have ended
		before := linkBytes()
		f, err := os.OpenFile(big, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		block[0]++
		if _, err := f.WriteAt(block, 8<<20); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		for _, dst := range dsts {
			waitMirror(t, src, dst, "one block changed")
		}
		time.Sleep(500 * time.Millisecond) // the manifest's repeated pushes
		b := linkBytes() - before
		for _, fl := range fls {
			fl.stop()
		}
		return b
	}
	one := measure(1)
	four := measure(4)
	t.Logf("one 4 KiB block of a 16 MiB file changed: %d bytes on the server's link for 1 follower, %d for 4", one, four)
	if four > 2*one || four > 64<<10 {
		t.Errorf("4 followers cost %d bytes on the server's link, 1 follower %d: want at most twice, and 64 KiB", four, one)
	}
}
