package follow_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestFollowerPassLooksAtChanges: after the first pass, a pass looks only at what differs
// from the generation applied last (one file of 200 changed: one file fetched, none of the
// others read or listed), so a local edit elsewhere in the mirror stays until that path
// changes or the mirror is re-checked (SIGHUP), which restores it and deletes local extras.
func TestFollowerPassLooksAtChanges(t *testing.T) {
	r := newRig(t)
	for d := range 20 {
		for f := range 10 {
			r.write(fmt.Sprintf("d%02d/f%d", d, f), random(700+d*f))
		}
	}
	r.serve()
	stop := r.follow(nil)
	defer stop()
	if a := r.next("the first copy"); a.Stats.Files != 200 {
		t.Fatalf("first pass fetched %d files, want 200", a.Stats.Files)
	}
	edited := filepath.Join(r.dst, "d05/f5")
	if err := os.WriteFile(edited, []byte("local edit"), 0o644); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(r.dst, "d07/extra")
	if err := os.WriteFile(extra, []byte("local extra"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.write("d01/f1", random(900))
	r.write("d03/new", random(300))
	if err := os.Remove(filepath.Join(r.src, "d02/f2")); err != nil {
		t.Fatal(err)
	}
	r.s.Reindex()
	a := r.next("the change")
	if a.Stats.Files != 2 || a.Stats.Deleted != 1 || a.Stats.Unchanged > 0 {
		t.Fatalf("a pass after 3 changes: fetched %d, deleted %d, unchanged %d; want 2, 1, 0 (stats %+v)",
			a.Stats.Files, a.Stats.Deleted, a.Stats.Unchanged, a.Stats)
	}
	for _, rel := range []string{"d01/f1", "d03/new"} {
		want, _ := os.ReadFile(filepath.Join(r.src, rel))
		if got, err := os.ReadFile(filepath.Join(r.dst, rel)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s not applied (%v)", rel, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(r.dst, "d02/f2")); !os.IsNotExist(err) {
		t.Fatalf("d02/f2 was not deleted (%v)", err)
	}
	if got, _ := os.ReadFile(edited); string(got) != "local edit" {
		t.Fatalf("an unchanged path was read and restored by an incremental pass")
	}
	if _, err := os.Lstat(extra); err != nil {
		t.Fatalf("a local extra in an unchanged directory was deleted by an incremental pass (%v)", err)
	}
	r.f.Recheck()
	a = r.next("the re-check")
	if a.Stats.Files != 1 || a.Stats.Deleted != 1 {
		t.Errorf("re-check: fetched %d, deleted %d; want 1 (the edited file) and 1 (the extra)", a.Stats.Files, a.Stats.Deleted)
	}
	r.same()
}
