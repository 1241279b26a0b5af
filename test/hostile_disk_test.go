package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestFetchIntoFullDisk: a fetch into a file system too small for it (a 2 MiB tmpfs, a share
// of a small file and a 6 MiB one) ends with exit status 3 (local I/O) and a message that
// names the cause, leaves no temporary file behind and no torn file under the name, and keeps
// the local file it was to replace as it was. A later fetch into enough space completes.
func TestFetchIntoFullDisk(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skip("no mount(8)")
	}
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	src := filepath.Join(t.TempDir(), "bigshare")
	writeFile(t, filepath.Join(src, "a-small.bin"), 100000, 1, 0o644)
	writeFile(t, filepath.Join(src, "big.bin"), 6<<20, 2, 0o644)
	startServer(t, rig.Sender, src)

	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "lcsync-test", small).CombinedOutput(); err != nil {
		t.Fatalf("mounting a 2 MiB tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", small).Run() })
	dst := filepath.Join(small, "dst")
	writeFile(t, filepath.Join(dst, "big.bin"), 1000, 3, 0o644) // the old version, to be replaced
	old, _ := os.ReadFile(filepath.Join(dst, "big.bin"))

	r := fetch(rig.Receivers[0], "bigshare/", dst)
	t.Logf("%s", r)
	if r.code != 3 {
		t.Errorf("a fetch into a full disk exited with status %d, want 3 (local I/O)", r.code)
	}
	if !strings.Contains(r.stderr, "no space left on device") {
		t.Errorf("the error does not say the disk is full:\n%s", r.stderr)
	}
	noTempFiles(t, dst)
	got, err := os.ReadFile(filepath.Join(dst, "big.bin"))
	if err != nil || string(got) != string(old) {
		t.Errorf("big.bin after the failed fetch: %d bytes (%v), want the old %d bytes untouched", len(got), err, len(old))
	}

	roomy := filepath.Join(t.TempDir(), "dst")
	mustSucceed(t, fetch(rig.Receivers[0], "bigshare/", roomy))
	compareTrees(t, src, roomy, compareOpts{})
}
