package destfs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSweepTemps: a temporary file whose maker is gone (unlocked) is removed; one that is
// locked (in use by a live fetch or sync), one not named like a temporary file, and a
// temporary name that is not a regular file stay.
func TestSweepTemps(t *testing.T) {
	dir := t.TempDir()
	d := openRoot(t, dir)
	live, liveName, err := OpenTemp(d, "live", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	stale, staleName, err := OpenTemp(d, "stale", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	stale.Close() // its maker is gone: the lock went with the descriptor
	kept := KeptName("lcsync-follow", 0)
	for _, name := range []string{"plain", ".plain.lcsync", kept} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dirTemp := TempName("d")
	if err := os.Mkdir(filepath.Join(dir, dirTemp), 0o700); err != nil {
		t.Fatal(err)
	}
	// With the usual age, a file just left is not stale yet.
	n, again, err := SweepTemps(d, StaleAge)
	if n != 0 || err != nil {
		t.Errorf("a sweep with age %v removed %d fresh files (%v)", StaleAge, n, err)
	}
	if again <= 0 || again > StaleAge {
		t.Errorf("a sweep that left fresh temporary files says to sweep again in %v; want (0, %v]", again, StaleAge)
	}
	n, again, err = SweepTemps(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	want := []string{".plain.lcsync", dirTemp, kept, liveName, "plain"}
	slices.Sort(want)
	if n != 1 || again != 0 || !slices.Equal(left, want) {
		t.Errorf("swept %d (again in %v), left %q; want 1 (%s) swept and %q left", n, again, left, staleName, want)
	}
}
