package receiver_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/lcsync/lcsync/pkg/exclude"
	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
)

// TestFetchExcludes: a fetch with receiver-side rules neither fetches nor, with Delete,
// deletes what they exclude; the rest of the directory comes (through its stream too) and
// what is extraneous and not excluded goes.
func TestFetchExcludes(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	for i := range 70 {
		writeFile(t, filepath.Join(src, "d"+strconv.Itoa(i%7), "f"+strconv.Itoa(i)), randBytes(t, 100+i*37))
	}
	writeFile(t, filepath.Join(src, "notes.tmp"), randBytes(t, 500))
	serve(t, n, src, false)
	dst := t.TempDir()
	writeFile(t, filepath.Join(dst, "d3", "mine"), []byte("local"))
	writeFile(t, filepath.Join(dst, "local.tmp"), []byte("local"))
	writeFile(t, filepath.Join(dst, "d2", "extra"), []byte("gone"))
	var rules exclude.Matcher
	for _, p := range []string{"/d3/", "*.tmp"} {
		if err := rules.Exclude(p); err != nil {
			t.Fatal(err)
		}
	}
	st := fetch(t, n.Conn(0), "share/", dst, func(c *receiver.Config) { c.Delete, c.Exclude = true, &rules })
	if st.Files != 60 || st.Deleted != 1 {
		t.Errorf("fetched %d files and deleted %d, want 60 (d3/ and notes.tmp excluded) and 1 (d2/extra)", st.Files, st.Deleted)
	}
	for _, p := range []string{"d3/mine", "local.tmp"} {
		if b, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(b) != "local" {
			t.Errorf("excluded local %s: %q, %v", p, b, err)
		}
	}
	if names := listDir(t, filepath.Join(dst, "d3")); !slices.Equal(names, []string{"mine"}) {
		t.Errorf("d3 holds %q: the excluded directory was fetched into", names)
	}
	for i := range 70 {
		rel := filepath.Join("d"+strconv.Itoa(i%7), "f"+strconv.Itoa(i))
		if i%7 != 3 {
			sameFile(t, filepath.Join(src, rel), filepath.Join(dst, rel))
		}
	}
	if _, err := os.Lstat(filepath.Join(dst, "notes.tmp")); err == nil {
		t.Error("notes.tmp was fetched")
	}
	if _, err := os.Lstat(filepath.Join(dst, "d2", "extra")); err == nil {
		t.Error("d2/extra was not deleted")
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestFetchExcludesPruneObjects: the walk of the manifest's tree objects does not descend
// into a directory the rules exclude: its 20 subdirectories' objects are not fetched (their
// datagrams are not sent), and the fetch is what it would be without pruning.
func TestFetchExcludesPruneObjects(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	for i := range 20 {
		writeFile(t, filepath.Join(src, "cache", "c"+strconv.Itoa(i), "f"), randBytes(t, 50))
		writeFile(t, filepath.Join(src, "keep", "k"+strconv.Itoa(i), "f"), randBytes(t, 50))
	}
	s := serve(t, n, src, false)
	objects := func(rules ...string) uint64 {
		t.Helper()
		var m exclude.Matcher
		for _, p := range rules {
			if err := m.Exclude(p); err != nil {
				t.Fatal(err)
			}
		}
		before := s.Stats().ObjectPackets
		dst := t.TempDir()
		st := fetch(t, n.Conn(0), "share/", dst, func(c *receiver.Config) { c.Exclude = &m })
		if want := 40 - 20*len(rules); st.Files != want {
			t.Errorf("rules %q: fetched %d files, want %d", rules, st.Files, want)
		}
		if _, err := os.Lstat(filepath.Join(dst, "cache")); (err == nil) == (len(rules) > 0) {
			t.Errorf("rules %q: cache/ in DST: %v", rules, err == nil)
		}
		return s.Stats().ObjectPackets - before
	}
	all := objects()
	pruned := objects("/cache/")
	// Without rules: the share's, cache's, keep's and 40 subdirectories' objects (43); with
	// /cache/ excluded, neither cache's object nor its 20 subdirectories' are walked (22).
	if pruned+20 > all {
		t.Errorf("object datagrams: %d with cache/ excluded, %d without; want 20 fewer", pruned, all)
	}
	t.Logf("object datagrams: %d without rules, %d with /cache/ excluded", all, pruned)
}
