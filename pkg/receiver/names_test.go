package receiver_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
)

// TestFetchLongNames: files and a symlink whose names take all 255 bytes a name may have are
// fetched, created and then updated, though the temporary names beside them must be cut to
// fit; nothing temporary is left behind.
func TestFetchLongNames(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	long := strings.Repeat("n", 255)
	utf := strings.Repeat("é", 127) + "x" // 255 bytes, a cut falls inside a character
	for _, name := range []string{long, utf} {
		writeFile(t, filepath.Join(src, "d", name), randBytes(t, 5000))
	}
	if err := os.Symlink("target", filepath.Join(src, "d", strings.Repeat("l", 255))); err != nil {
		t.Fatal(err)
	}
	serve(t, n, src, false)
	dst := filepath.Join(t.TempDir(), "d")
	st := fetch(t, n.Conn(0), "share/d/", dst, func(c *receiver.Config) { c.Times = true })
	if st.Files != 2 {
		t.Errorf("fetched %d files, want 2 (stats %+v)", st.Files, st)
	}
	// An older local copy of each: updated in place of the old one, through a temporary file.
	for _, name := range []string{long, utf} {
		p := filepath.Join(dst, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[100] ^= 0xff
		writeFile(t, p, b)
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dst, strings.Repeat("l", 255))
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("old", link); err != nil { // replaced through a temporary name
		t.Fatal(err)
	}
	st = fetch(t, n.Conn(0), "share/d/", dst, func(c *receiver.Config) { c.Times = true; c.Delete = true })
	if st.Files != 2 || st.Needed != 2 || st.Deleted != 0 {
		t.Errorf("update: %+v, want 2 files with one block each", st)
	}
	for _, name := range []string{long, utf} {
		sameFile(t, filepath.Join(src, "d", name), filepath.Join(dst, name))
	}
	if got, err := os.Readlink(link); err != nil || got != "target" {
		t.Errorf("symlink: %q, %v", got, err)
	}
	ents, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".lcsync-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if len(ents) != 3 {
		t.Errorf("%d entries in the destination, want 3", len(ents))
	}
}
