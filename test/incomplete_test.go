package test

import (
	"os"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestDeleteKeepsWhatTheServerCouldNotRead: a server (running as nobody) cannot read one
// directory and one file of its share. A mirror fetched with -a --delete keeps what it has
// under the unreadable directory and beside the unreadable file, as rsync skips deletion
// after an I/O error, while extraneous entries of directories read in full are still deleted.
func TestDeleteKeepsWhatTheServerCouldNotRead(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to serve as another user")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("SKIP: no user nobody:", err)
	}
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // t.TempDir makes both 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(base, "share")
	writeFile(t, filepath.Join(src, "ok", "a"), 5000, 1, 0o644)
	writeFile(t, filepath.Join(src, "locked", "x"), 5000, 2, 0o644)
	writeFile(t, filepath.Join(src, "sub", "secret"), 5000, 3, 0o600)
	writeFile(t, filepath.Join(src, "sub", "y"), 5000, 4, 0o644)
	for _, d := range []string{src, filepath.Join(src, "ok"), filepath.Join(src, "sub")} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(src, "locked"), 0o700); err != nil { // root's only
		t.Fatal(err)
	}

	dst := filepath.Join(t.TempDir(), "mirror")
	writeFile(t, filepath.Join(dst, "locked", "x"), 5000, 2, 0o644)   // mirrored earlier
	writeFile(t, filepath.Join(dst, "locked", "old"), 100, 5, 0o644)  // unknown now: kept
	writeFile(t, filepath.Join(dst, "sub", "secret"), 5000, 3, 0o600) // mirrored earlier
	writeFile(t, filepath.Join(dst, "ok", "stale"), 100, 6, 0o644)    // gone from the source

	startServer(t, rig.Sender, "--user", "nobody", src)
	mustSucceed(t, fetch(rig.Receivers[0], "-a", "--delete", "share/", dst))
	for _, keep := range []string{"locked/x", "locked/old", "sub/secret", "sub/y", "ok/a"} {
		if _, err := os.Lstat(filepath.Join(dst, keep)); err != nil {
			t.Errorf("%s: %v", keep, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dst, "ok", "stale")); err == nil {
		t.Error("ok/stale, in a directory the server read in full, was not deleted")
	}
}
