package test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestExcludesBothSides runs --exclude on the server and on the receiver at once (issue 16):
// the server never serves what it excludes; a fetch with --delete never fetches nor deletes
// what the receiver excludes; a follower keeps its excluded local files through a generation
// that deletes them upstream, and its delete guard does not count them.
func TestExcludesBothSides(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	t.Run("Fetch", func(t *testing.T) { testFetchExcludes(t, rig) })
	t.Run("Follow", func(t *testing.T) { testFollowExcludes(t, rig) })
}

// testFetchExcludes: a fetch of a directory with --delete and receiver-side rules.
func testFetchExcludes(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "both")
	for i, p := range []string{"a.c", "a.o", "keep.o", "cache/x.bin", "sub/cache/y.bin", "sub/z.c", "notes.tmp"} {
		writeFile(t, filepath.Join(src, p), 3000, uint64(10+i), 0o644)
	}
	startServer(t, rig.Sender, "--include", "keep.o", "--exclude", "*.o", src)
	dst := filepath.Join(t.TempDir(), "dst")
	// Local files: an excluded directory with a file of its own and an excluded file, both
	// absent upstream (kept by --delete), one absent and not excluded (deleted), and a.c
	// with other content (updated).
	writeFile(t, filepath.Join(dst, "cache", "mine.bin"), 2000, 1, 0o644)
	writeFile(t, filepath.Join(dst, "mine.tmp"), 2000, 2, 0o644)
	writeFile(t, filepath.Join(dst, "extra.bin"), 2000, 3, 0o644)
	writeFile(t, filepath.Join(dst, "a.c"), 3000, 4, 0o644)
	mine := readFile(t, filepath.Join(dst, "mine.tmp"))
	st := mustSucceed(t, fetch(rig.Receivers[0], "--delete", "--exclude", "/cache/", "--exclude", "*.tmp", "both/", dst))
	want := []string{"a.c", "cache/mine.bin", "keep.o", "mine.tmp", "sub/cache/y.bin", "sub/z.c"}
	if got := treeFiles(t, dst); !slices.Equal(got, want) {
		t.Errorf("after the fetch: %q, want %q", got, want)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dst, "a.c")), readFile(t, filepath.Join(src, "a.c"))) {
		t.Error("a.c was not updated")
	}
	if !bytes.Equal(readFile(t, filepath.Join(dst, "mine.tmp")), mine) {
		t.Error("the excluded mine.tmp was changed")
	}
	if st.Deleted != 1 {
		t.Errorf("%d deleted, want 1 (extra.bin)", st.Deleted)
	}
	// With the rules cleared ("!"), the same fetch brings cache/x.bin and notes.tmp and
	// deletes what is not served.
	mustSucceed(t, fetch(rig.Receivers[0], "--delete", "--exclude", "/cache/", "--exclude", "!", "both/", dst))
	want = []string{"a.c", "cache/x.bin", "keep.o", "notes.tmp", "sub/cache/y.bin", "sub/z.c"}
	if got := treeFiles(t, dst); !slices.Equal(got, want) {
		t.Errorf("after the fetch without rules: %q, want %q", got, want)
	}
}

// testFollowExcludes: a follower with rules never fetches the excluded paths, keeps its own
// excluded files when they are deleted upstream, and the delete guard counts only the
// files it mirrors.
func testFollowExcludes(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "fx")
	writeFile(t, filepath.Join(src, "shared.bin"), 5000, 1, 0o644)
	writeFile(t, filepath.Join(src, "site.conf"), 500, 2, 0o644)
	writeFile(t, filepath.Join(src, "logs", "a.log"), 4000, 3, 0o644)
	for i := range 4 {
		writeFile(t, filepath.Join(src, "d", "f"+string(rune('0'+i))+".bin"), 1000, uint64(4+i), 0o644)
	}
	startServer(t, rig.Sender, "--watch", "--allow-shrink", src)
	dst := filepath.Join(t.TempDir(), "mirror")
	// The follower's own site.conf (other content) and logs; ten files of its own in an
	// excluded directory, more than the mirrored ones, which the guard must not count.
	writeFile(t, filepath.Join(dst, "site.conf"), 700, 20, 0o600)
	writeFile(t, filepath.Join(dst, "logs", "local.log"), 700, 21, 0o644)
	for i := range 10 {
		writeFile(t, filepath.Join(dst, "private", "p"+string(rune('0'+i))), 100, uint64(30+i), 0o644)
	}
	conf := readFile(t, filepath.Join(dst, "site.conf"))
	rules := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(rules, []byte("/site.conf\nlogs/\n/private/***\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fl := startFollower(t, rig.Receivers[0], "--exclude-from", rules, "--follow", "fx/", dst)
	mirrored := []string{"d/f0.bin", "d/f1.bin", "d/f2.bin", "d/f3.bin", "shared.bin"}
	local := []string{"logs/local.log", "private/p0", "private/p1", "private/p2", "private/p3", "private/p4",
		"private/p5", "private/p6", "private/p7", "private/p8", "private/p9", "site.conf"}
	expect := func(what string, files []string) {
		t.Helper()
		want := slices.Sorted(slices.Values(append(slices.Clone(files), local...)))
		var got []string
		for deadline := time.Now().Add(followBound); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if got = treeFiles(t, dst); slices.Equal(got, want) && sameFiles(src, dst, files) {
				break
			}
		}
		if !slices.Equal(got, want) || !sameFiles(src, dst, files) {
			t.Fatalf("%s: the mirror has %q, want %q with the source's contents", what, got, want)
		}
		if !bytes.Equal(readFile(t, filepath.Join(dst, "site.conf")), conf) {
			t.Fatalf("%s: the follower's own site.conf was overwritten", what)
		}
	}
	expect("the first pass", mirrored)
	// Upstream deletes site.conf and the logs; the next generation (new.bin) keeps the
	// follower's own.
	for _, p := range []string{"site.conf", "logs"} {
		if err := os.RemoveAll(filepath.Join(src, p)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(src, "new.bin"), 2000, 9, 0o644)
	mirrored = append(mirrored, "new.bin")
	expect("site.conf and logs/ deleted upstream", mirrored)
	// Four of the six mirrored files deleted upstream: more than the default --max-delete
	// of 50%, refused. Counting the twelve excluded files it would be 4 of 18: the guard
	// must count only what the follower mirrors.
	for _, p := range []string{"d/f0.bin", "d/f1.bin", "d/f2.bin", "d/f3.bin"} {
		if err := os.Remove(filepath.Join(src, p)); err != nil {
			t.Fatal(err)
		}
	}
	waitFollowerOutput(t, fl, "would delete 4 of the 6 files")
	want := slices.Sorted(slices.Values(append(mirrored, local...)))
	if got := treeFiles(t, dst); !slices.Equal(got, want) {
		t.Errorf("after a refused generation the mirror has %q, want %q", got, want)
	}
}

// treeFiles lists the files and symbolic links below root, relative to it and sorted, the
// follower's state file aside.
func treeFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !followerFile(d.Name()) {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// sameFiles reports whether every one of files (relative paths) has the same content in
// both trees.
func sameFiles(a, b string, files []string) bool {
	for _, f := range files {
		x, err1 := os.ReadFile(filepath.Join(a, f))
		y, err2 := os.ReadFile(filepath.Join(b, f))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
