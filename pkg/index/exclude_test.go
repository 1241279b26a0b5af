package index

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lcsync/lcsync/pkg/exclude"
)

func names(ix *Index) []string {
	var out []string
	for _, e := range ix.Entries() {
		out = append(out, e.Name)
	}
	return out
}

// TestExcludedNeverIndexed: excluded files and directories (and everything below them) are
// not in the index, nor counted as skipped; lcsync's temporary files never are; Refresh keeps
// the rules.
func TestExcludedNeverIndexed(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	write(t, filepath.Join(src, "keep.c"), "c", 0o644)
	write(t, filepath.Join(src, "drop.o"), "o", 0o644)
	write(t, filepath.Join(src, "build", "deep", "x.c"), "x", 0o644)
	write(t, filepath.Join(src, "sub", ".keep.c.lcsync-0badf00d"), "partial", 0o600)
	m := &exclude.Matcher{}
	for _, p := range []string{"*.o", "/build/"} {
		if err := m.Exclude(p); err != nil {
			t.Fatal(err)
		}
	}
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024, Exclude: m})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"share", "share/keep.c", "share/sub"}
	if got := names(ix); !equal(got, want) {
		t.Fatalf("indexed %q, want %q", got, want)
	}
	if ix.Skipped != 0 {
		t.Errorf("Skipped = %d, want 0: excluded entries are not skipped ones", ix.Skipped)
	}
	write(t, filepath.Join(src, "new.o"), "o", 0o644)
	write(t, filepath.Join(src, "new.c"), "c", 0o644)
	ix2, _, err := Refresh(context.Background(), ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"share", "share/keep.c", "share/new.c", "share/sub"}
	if got := names(ix2); !equal(got, want) {
		t.Fatalf("after Refresh indexed %q, want %q", got, want)
	}
	// Without rules, only the temporary file is left out.
	ix3, err := Build(context.Background(), src, Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names(ix3) {
		if filepath.Base(n) == ".keep.c.lcsync-0badf00d" {
			t.Errorf("temporary file %s indexed", n)
		}
	}
	if _, err := os.Stat(filepath.Join(src, "sub", ".keep.c.lcsync-0badf00d")); err != nil {
		t.Fatal(err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
