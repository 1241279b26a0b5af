package test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// killRounds is how many times in a row TestHostileKillMidWrite kills a receiver.
const killRounds = 20

// TestHostileKillMidWrite kills a receiver with SIGKILL while it writes, 20 times in a row,
// alternately over an older copy of the file and over none. DST must then hold the old file
// or the new one, whole, never a mix or a truncated file (lcsync.1: temporary file, fsync,
// rename). A last fetch must complete.
func TestHostileKillMidWrite(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	src := filepath.Join(t.TempDir(), "killshare")
	const size = 3<<20 + 77
	writeFile(t, filepath.Join(src, "f.bin"), size, 61, 0o644)
	// 3 MiB at 40 Mbit/s: about 0.6 s of writing to land in.
	startServer(t, rig.Sender, "--bwlimit", "40M", src)
	newData, err := os.ReadFile(filepath.Join(src, "f.bin"))
	if err != nil {
		t.Fatal(err)
	}
	// The old copy differs in every fourth block and is a little shorter.
	old := bytes.Clone(newData[:size-5000])
	for off := 0; off < len(old); off += 4 * 16384 {
		old[off] ^= 0x5a
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, "f.bin")
	rng := rand.New(rand.NewPCG(7, 8))
	var killed, finished, wasOld, wasNew, absent int
	for round := range killRounds {
		fresh := round%2 == 1
		_ = os.Remove(dst)
		if !fresh {
			if err := os.WriteFile(dst, old, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		p := startFetch(rig.Receivers[0], "killshare/f.bin", dst)
		// Wait until the temporary file holds something, then a little more, then kill.
		if _, err := waitTempFile(dir, 1, 10*time.Second, p); err != nil {
			t.Logf("round %d: %v", round, err)
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		if err := p.signal(syscall.SIGKILL); err != nil {
			t.Fatalf("round %d: kill: %v", round, err)
		}
		r := p.wait()
		if r.code == 0 {
			finished++
		} else {
			killed++
		}
		got, err := os.ReadFile(dst)
		switch {
		case os.IsNotExist(err) && fresh:
			absent++
		case err != nil:
			t.Fatalf("round %d: %v", round, err)
		case bytes.Equal(got, newData):
			wasNew++
		case bytes.Equal(got, old) && !fresh:
			wasOld++
		default:
			t.Fatalf("round %d (%s): DST is torn: %d bytes, neither the old (%d) nor the new file (%d); exit %d",
				round, map[bool]string{true: "fresh", false: "over the old copy"}[fresh], len(got), len(old), len(newData), r.code)
		}
	}
	t.Logf("%d rounds: %d killed mid-fetch, %d finished first; DST old %d, new %d, absent %d",
		killRounds, killed, finished, wasOld, wasNew, absent)
	if killed < killRounds/2 {
		t.Errorf("only %d of %d receivers were killed mid-fetch: the test did not test much", killed, killRounds)
	}
	// Temporary files the killed receivers left behind are the only other thing in DST's
	// directory; a normal fetch still completes next to them.
	for _, e := range listDir(t, dir) {
		if e != "f.bin" && !(strings.HasPrefix(e, ".f.bin.lcsync-")) {
			t.Errorf("unexpected entry %q in the destination directory", e)
		}
	}
	mustSucceed(t, fetch(rig.Receivers[0], "killshare/f.bin", dst))
	compareTrees(t, filepath.Join(src, "f.bin"), dst, compareOpts{})
}
