package receiver_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
)

// TestUnchangedKeepsAttributes: a fetch with -p -t that finds a file unchanged, its mode and
// time already the source's, leaves it alone (its change time does not move: no chmod, no
// utimensat); one whose mode differs gets the source's.
func TestUnchangedKeepsAttributes(t *testing.T) {
	src, dst := filepath.Join(t.TempDir(), "share"), filepath.Join(t.TempDir(), "out")
	writeFile(t, filepath.Join(src, "same"), randBytes(t, 3000))
	writeFile(t, filepath.Join(src, "mode"), randBytes(t, 3000))
	n := mcasttest.NewNet()
	serve(t, n, src, false)
	pt := func(c *receiver.Config) { c.Perms, c.Times = true, true }
	fetch(t, n.Conn(0), "share/", dst+"/", pt)
	ctime := func(name string) int64 {
		t.Helper()
		fi, err := os.Lstat(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ctim.Nano()
	}
	if err := os.Chmod(filepath.Join(dst, "mode"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, beforeMode := ctime("same"), ctime("mode")
	time.Sleep(20 * time.Millisecond) // past the file system's time granularity
	st := fetch(t, n.Conn(0), "share/", dst+"/", pt)
	if st.Unchanged != 2 {
		t.Fatalf("%d files unchanged, want 2", st.Unchanged)
	}
	if got := ctime("same"); got != before {
		t.Errorf("a file unchanged with the right attributes was touched (ctime moved %v)", time.Duration(got-before))
	}
	if ctime("mode") == beforeMode {
		t.Error("a file with another mode was not given the source's")
	}
	fi, err := os.Stat(filepath.Join(dst, "mode"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 (%v)", fi.Mode().Perm(), err)
	}
}
