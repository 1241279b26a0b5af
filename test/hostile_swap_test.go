package test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestHostileServerSwaps: a local user who can write into a served share swaps, while a
// fetch of the share is under way, a large file for a symlink to a secret of the same size
// and modification time outside the share, and another file for a FIFO (issue 14, review C2
// and M5, black-box). The receiver must never get the secret's bytes; the server must not
// hang on the FIFO; the fetch ends with the new state of the share (the symlink, M10) or
// cleanly, and a later fetch from the same server works.
func TestHostileServerSwaps(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	base := t.TempDir()
	src := filepath.Join(base, "swapped")
	const size = 6<<20 + 5
	writeFile(t, filepath.Join(src, "big.bin"), size, 61, 0o644)
	writeFile(t, filepath.Join(src, "pipe"), 70000, 62, 0o644)
	writeFile(t, filepath.Join(src, "other.bin"), 90000, 63, 0o644)
	secret := filepath.Join(base, "secret")
	writeFile(t, secret, size, 64, 0o600)
	fi, err := os.Stat(filepath.Join(src, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(secret, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	secretBytes, err := os.ReadFile(secret)
	if err != nil {
		t.Fatal(err)
	}
	// 6 MiB at 16 Mbit/s: about 3 s, so the swap comes mid-fetch.
	startServer(t, rig.Sender, "--bwlimit", "16M", src)

	dst := filepath.Join(t.TempDir(), "dst")
	p := startFetch(rig.Receivers[0], "--timeout", "40s", "-v", "swapped/", dst)
	time.Sleep(800 * time.Millisecond)
	if err := os.Remove(filepath.Join(src, "big.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(src, "big.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "pipe")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := p.wait()
	t.Logf("fetch during the swaps: %s", r)
	if crashed(r) {
		t.Fatalf("BUG: the receiver crashed:\n%.2000s", r.stderr)
	}
	if r.code != 0 && r.code != 5 {
		t.Errorf("fetch exit %d, want 0 (the new state of the share) or 5: %s", r.code, r)
	}
	err = filepath.WalkDir(dst, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if len(b) >= 4096 && bytes.Contains(secretBytes, b[:4096]) {
			t.Errorf("BUG: %s holds bytes of the secret outside the share", path)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if r.code == 0 {
		if target, err := os.Readlink(filepath.Join(dst, "big.bin")); err != nil || target != secret {
			t.Errorf("big.bin after the fetch: %q, %v; want the symlink the share now holds", target, err)
		}
	}
	// The server is neither hung on the FIFO nor reading the secret: a new fetch gets the
	// share as it now is.
	dst2 := filepath.Join(t.TempDir(), "dst2")
	r2 := fetch(rig.Receivers[0], "--timeout", "20s", "swapped/other.bin", dst2)
	mustSucceed(t, r2)
	compareTrees(t, filepath.Join(src, "other.bin"), dst2, compareOpts{})
}
