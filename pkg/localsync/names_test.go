package localsync

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLongNames: entries whose names take all 255 bytes a name may have are created, updated
// through a temporary file and replaced (a symbolic link), and --delete removes one, though
// the temporary names beside them must be cut to fit.
func TestLongNames(t *testing.T) {
	src, dst := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "dst")
	long := strings.Repeat("n", 255)
	utf := strings.Repeat("é", 127) + "x" // 255 bytes, a cut falls inside a character
	link := strings.Repeat("l", 255)
	for i, name := range []string{long, utf} {
		writeFile(t, filepath.Join(src, name), data(uint64(i), 100_000), 0o644)
	}
	if err := os.Symlink("target", filepath.Join(src, link)); err != nil {
		t.Fatal(err)
	}
	st, _ := syncT(t, src+"/", dst, Options{BlockSize: 4096, Times: true})
	if st.Created != 2 || st.Symlinks != 1 || st.Errors != 0 {
		t.Fatalf("first sync: %+v", st)
	}
	for i, name := range []string{long, utf} {
		b := data(uint64(i), 100_000)
		b[5000] ^= 0xff
		writeFile(t, filepath.Join(src, name), b, 0o644)
	}
	if err := os.Remove(filepath.Join(src, link)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("other", filepath.Join(src, link)); err != nil {
		t.Fatal(err)
	}
	extra := strings.Repeat("x", 255)
	writeFile(t, filepath.Join(dst, extra), []byte("extra"), 0o644)
	st, _ = syncT(t, src+"/", dst, Options{BlockSize: 4096, Times: true, Delete: true})
	if st.Updated != 2 || st.ChangedBlocks != 2 || st.Deleted != 1 || st.Errors != 0 {
		t.Fatalf("second sync: %+v", st)
	}
	for _, name := range []string{long, utf} {
		if !bytes.Equal(readFile(t, filepath.Join(src, name)), readFile(t, filepath.Join(dst, name))) {
			t.Errorf("%.20s... differs", name)
		}
	}
	if got, err := os.Readlink(filepath.Join(dst, link)); err != nil || got != "other" {
		t.Errorf("symlink: %q, %v", got, err)
	}
	if _, err := os.Lstat(filepath.Join(dst, extra)); !os.IsNotExist(err) {
		t.Errorf("extraneous entry not deleted: %v", err)
	}
	noTemps(t, dst)
}
