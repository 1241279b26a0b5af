package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestHostileLongNames is review H8: names of up to 255 bytes are valid, but the temporary
// name ".NAME.lcsync-XXXXXXXX" of a name over 238 bytes is not. A share holding files and a
// symlink with such names, next to ordinary files, must arrive whole.
func TestHostileLongNames(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	src := filepath.Join(t.TempDir(), "longnames")
	long250, long255 := strings.Repeat("a", 250), strings.Repeat("b", 255)
	writeFile(t, filepath.Join(src, "before.bin"), 300000, 71, 0o644)
	writeFile(t, filepath.Join(src, long250), 200000, 72, 0o644)
	writeFile(t, filepath.Join(src, "dir", long255), 40000, 73, 0o600)
	writeFile(t, filepath.Join(src, "dir", "small"), 10, 74, 0o644)
	writeFile(t, filepath.Join(src, "zafter.bin"), 1<<20, 75, 0o644)
	if err := os.Symlink("before.bin", filepath.Join(src, strings.Repeat("l", 254))); err != nil {
		t.Fatal(err)
	}
	startServer(t, rig.Sender, src)
	dsts := []string{filepath.Join(t.TempDir(), "dst"), filepath.Join(t.TempDir(), "dst")}
	// Receiver 2's destination already has an older copy of the long-named file, so it is
	// updated through a temporary file beside it rather than streamed.
	writeFile(t, filepath.Join(dsts[1], long250), 200000, 99, 0o644)
	res := fetchEach(rig.Receivers, func(i int) []string { return []string{"-a", "longnames/", dsts[i]} })
	for i, r := range res {
		t.Run([]string{"fresh", "update"}[i], func(t *testing.T) {
			if r.code != 0 {
				t.Fatalf("BUG: a share with 250-byte names did not arrive (review H8): %s", r)
			}
			mustSucceed(t, r)
			compareTrees(t, src, dsts[i], compareOpts{modes: true, times: true, noSetid: true})
			if r.maxRSS > hostileRSSBound {
				t.Errorf("receiver peak RSS %d MiB, want at most %d MiB", r.maxRSS>>20, hostileRSSBound>>20)
			}
		})
	}
}
