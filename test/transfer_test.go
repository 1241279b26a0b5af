package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// testFourReceivers has every receiver of the rig fetch the same directory at the same time.
func testFourReceivers(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "four")
	writeFile(t, filepath.Join(src, "data.bin"), 24<<20+333, 7, 0o644)
	writeFile(t, filepath.Join(src, "sub", "small.txt"), 2000, 8, 0o600)
	startServer(t, rig.Sender, src)
	dsts := make([]string, len(rig.Receivers))
	for i := range dsts {
		dsts[i] = filepath.Join(t.TempDir(), "dst")
	}
	res := fetchEach(rig.Receivers, func(i int) []string { return []string{"four/", dsts[i]} })
	for i, r := range res {
		t.Run(fmt.Sprintf("r%d", i+1), func(t *testing.T) {
			mustSucceed(t, r)
			compareTrees(t, src, dsts[i], compareOpts{})
		})
	}
}

// testLateJoiner starts a second receiver while the first is in the middle of a rate-limited
// transfer of a big file; both must end with exact copies.
func testLateJoiner(t *testing.T, rig *netnstest.Rig) {
	const size = 32<<20 + 4321
	src := filepath.Join(t.TempDir(), "late")
	writeFile(t, filepath.Join(src, "big.iso"), size, 9, 0o644)
	// 32 MiB at 80 Mbit/s takes about 3.4 s.
	startServer(t, rig.Sender, "--bwlimit", "80M", src)
	dir1, dir2 := t.TempDir(), t.TempDir()
	first := startFetch(rig.Receivers[0], "late/big.iso", filepath.Join(dir1, "big.iso"))
	// Mid-transfer: the first receiver's temporary file holds at least 4 MiB.
	progress, err := waitTempFile(dir1, 4<<20, 30*time.Second, first)
	if err != nil {
		t.Fatalf("the first receiver never got going (%v): %s", err, first.wait())
	}
	second := startFetch(rig.Receivers[1], "late/big.iso", filepath.Join(dir2, "big.iso"))
	startedMid := first.running()
	t.Logf("second receiver started with the first at %d of %d bytes", progress, size)
	r1, r2 := first.wait(), second.wait()
	mustSucceed(t, r1)
	st2 := mustSucceed(t, r2)
	if !startedMid {
		t.Fatalf("the first receiver finished before the second started, so nobody joined late; slow the server down")
	}
	compareTrees(t, filepath.Join(src, "big.iso"), filepath.Join(dir1, "big.iso"), compareOpts{})
	compareTrees(t, filepath.Join(src, "big.iso"), filepath.Join(dir2, "big.iso"), compareOpts{})
	if blocks := int64((size + 16383) / 16384); st2.Received != blocks {
		t.Errorf("late joiner stats: %v; want all %d blocks received", st2, blocks)
	}
}

// waitTempFile waits until a temporary file of a fetch in dir reaches min bytes and returns
// its size; it gives up when the fetch ends or the timeout passes.
func waitTempFile(dir string, min int64, timeout time.Duration, p *pendingFetch) (int64, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") || !strings.Contains(e.Name(), ".lcsync-") {
				continue
			}
			if fi, err := e.Info(); err == nil && fi.Size() >= min {
				return fi.Size(), nil
			}
		}
		select {
		case <-p.done:
			return 0, fmt.Errorf("the fetch ended")
		case <-deadline.C:
			return 0, fmt.Errorf("no temporary file of %d bytes in %s after %v", min, dir, timeout)
		case <-tick.C:
		}
	}
}

// testPartialDest gives each receiver a local copy with k blocks changed and checks that
// exactly those k blocks travel and the rest are reused.
func testPartialDest(t *testing.T, rig *netnstest.Rig) {
	const bs = 16384
	const blocks = 64
	const size = (blocks-1)*bs + 1000 // short last block
	cases := []struct {
		name    string
		changed []int
	}{
		{"one-block", []int{17}},
		{"scattered", []int{0, 9, 33, 50, 63}},
		{"adjacent-run", []int{20, 21, 22, 23}},
		{"first-and-last", []int{0, 63}},
		{"unchanged", nil},
	}
	src := filepath.Join(t.TempDir(), "partial")
	for i, c := range cases {
		writeFile(t, filepath.Join(src, c.name), size, uint64(200+i), 0o644)
	}
	startServer(t, rig.Sender, src)
	dst := t.TempDir()
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join(src, c.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range c.changed {
			data[b*bs+500] ^= 0xff // inside every block, the short last one included
		}
		if err := os.WriteFile(filepath.Join(dst, c.name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := len(rig.Receivers)
	series := make([][][]string, n)
	for i, c := range cases {
		series[i%n] = append(series[i%n], []string{"partial/" + c.name, filepath.Join(dst, c.name)})
	}
	res := fetchSeries(rig.Receivers, series)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := res[i%n][i/n]
			st := mustSucceed(t, r)
			compareTrees(t, filepath.Join(src, c.name), filepath.Join(dst, c.name), compareOpts{})
			k := int64(len(c.changed))
			want := fmt.Sprintf("blocks %d: %d received", blocks, k)
			if !strings.Contains(r.stdout, want) || st.Reused != blocks-k {
				t.Errorf("stats: %v; want %q and %d reused", st, want, blocks-k)
			}
			if k == 0 && (st.Files != 0 || st.Unchanged != 1) {
				t.Errorf("stats: %v; want the file unchanged", st)
			}
		})
	}
}

// testCarousel serves in carousel mode (no MLD) and fetches with two receivers at once.
func testCarousel(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "carousel")
	makeTree(t, src, []treeEntry{
		{name: "", mode: 0o755, dir: true},
		{name: "file.bin", mode: 0o644, size: 3<<20 + 17},
		{name: "dir", mode: 0o750, dir: true},
		{name: "dir/small", mode: 0o600, size: 999},
		{name: "dir/empty", mode: 0o644},
		{name: "link", target: "dir/small"},
	})
	startServer(t, rig.Sender, "--carousel", "--bwlimit", "300M", src)
	dsts := []string{filepath.Join(t.TempDir(), "dst"), filepath.Join(t.TempDir(), "dst")}
	res := fetchEach(rig.Receivers[:2], func(i int) []string { return []string{"-a", "carousel/", dsts[i]} })
	for i, r := range res {
		t.Run(fmt.Sprintf("r%d", i+1), func(t *testing.T) {
			mustSucceed(t, r)
			compareTrees(t, src, dsts[i], compareOpts{modes: true, times: true, root: true, noSetid: true})
		})
	}
}
