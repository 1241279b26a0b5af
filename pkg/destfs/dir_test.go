package destfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestCommit(t *testing.T) {
	dir := t.TempDir()
	d := NewDir(openRoot(t, dir), nil)
	defer d.Close()
	mt := time.Date(2021, 2, 3, 4, 5, 6, 789, time.UTC)
	name := strings.Repeat("c", NameMax)
	f, tmp, err := OpenTemp(d.Root(), name, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("data"); err != nil {
		t.Fatal(err)
	}
	// The group is given (to our own: allowed without root), so setgid stays.
	a := Attrs{Mode: 0o640 | fs.ModeSetgid, SetMode: true, MTime: mt, SetMTime: true,
		Owner: Owner{GID: os.Getegid(), SetGID: true}}
	if err := d.Commit(f, tmp, name, a, nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if ModeBits(fi) != a.Mode || !fi.ModTime().Equal(mt) {
		t.Errorf("committed file: mode %v, mtime %v; want %v, %v", ModeBits(fi), fi.ModTime(), a.Mode, mt)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != "data" {
		t.Errorf("content %q", b)
	}

	// A failure before the rename removes the temporary file and leaves the old one.
	f, tmp, err = OpenTemp(d.Root(), name, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := d.Commit(f, tmp, name, Attrs{}, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Commit = %v, want boom", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != name {
		t.Errorf("after a failed commit: %v", ents)
	}
	if err := f.Close(); err == nil {
		t.Error("Commit left the file open")
	}
}

func TestApplyAndModes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	d := NewDir(openRoot(t, dir), nil)
	defer d.Close()
	mt := time.Date(2022, 1, 1, 0, 0, 0, 5, time.UTC)
	if err := d.Apply("f", Attrs{Mode: ModeOf(0o4751), SetMode: true, MTime: mt, SetMTime: true}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetMtime("l", mt.Add(time.Hour)); err != nil { // the link itself
		t.Fatal(err)
	}
	fi, _ := os.Lstat(filepath.Join(dir, "f"))
	li, _ := os.Lstat(filepath.Join(dir, "l"))
	// No owner given: the setuid bit is cleared (review H7).
	if ModeBits(fi) != 0o751 || !fi.ModTime().Equal(mt) || !li.ModTime().Equal(mt.Add(time.Hour)) {
		t.Errorf("file %v %v, link %v", ModeBits(fi), fi.ModTime(), li.ModTime())
	}
	for bits, want := range map[uint32]fs.FileMode{0o644: 0o644, 0o2755: 0o755 | fs.ModeSetgid, 0o1777: 0o777 | fs.ModeSticky, 0o177777: 0o777 | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky} {
		if got := ModeOf(bits); got != want {
			t.Errorf("ModeOf(%o) = %v, want %v", bits, got, want)
		}
	}
}

func TestDirs(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c := NewDirs(openRoot(t, dir))
	for _, rel := range []string{"a/b/f", "c/g", "h"} {
		err := c.Do(rel, func(d *Dir, name string) error {
			f, tmp, err := OpenTemp(d.Root(), name, 0o600)
			if err != nil {
				return err
			}
			return d.Commit(f, tmp, name, Attrs{}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Renamed(rel)
		if fi, err := c.Lstat(rel); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("Lstat(%s) = %v, %v", rel, fi, err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(c.open) != 1 || len(c.dirty) != 0 {
		t.Errorf("after Flush: %d open, %d dirty", len(c.open), len(c.dirty))
	}
	// The root stays open and usable.
	if _, err := c.Lstat("a/b/f"); err != nil {
		t.Error(err)
	}
}

func TestExtras(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"keep", "gone", ".gone", ".f.lcsync-0badcafe", "z"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Extras(f, func(n string) bool { return n == "keep" })
	if want := []string{".gone", "gone", "z"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Extras = %q, %v; want %q", got, err, want)
	}
}

// TestSafeMode: set-id bits go unless what they run as is kept; a directory keeps setgid.
func TestSafeMode(t *testing.T) {
	all := fs.FileMode(0o755) | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	for _, c := range []struct {
		dir, uid, gid bool
		want          fs.FileMode
	}{
		{false, false, false, 0o755 | fs.ModeSticky},
		{false, true, false, 0o755 | fs.ModeSticky | fs.ModeSetuid},
		{false, false, true, 0o755 | fs.ModeSticky | fs.ModeSetgid},
		{false, true, true, all},
		{true, false, false, 0o755 | fs.ModeSticky | fs.ModeSetgid},
		{true, true, false, all},
	} {
		if got := SafeMode(all, c.dir, c.uid, c.gid); got != c.want {
			t.Errorf("SafeMode(%v, dir %v, uid %v, gid %v) = %v, want %v", all, c.dir, c.uid, c.gid, got, c.want)
		}
	}
}
