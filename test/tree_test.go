package test

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// treeEntry is one entry of a fixture tree.
type treeEntry struct {
	name   string      // relative path; "" is the root
	mode   fs.FileMode // permission bits plus setuid, setgid and sticky; 0 for symlinks
	dir    bool
	size   int64  // files
	target string // symlinks
}

// outsideTarget is what the relative symlink "links/rel-out" of treeFixture points at: a
// sibling of the tree's parent, outside any destination.
const outsideTarget = "outside-target"

// treeFixture returns a tree with nested and empty directories, files of several sizes (one
// empty) and modes (0751, 0600, setuid, setgid, sticky), and symlinks pointing inside the
// tree, at directories, outside it (absolute and relative) and nowhere.
func treeFixture() []treeEntry {
	return []treeEntry{
		{name: "", mode: 0o755, dir: true},
		{name: "a.txt", mode: 0o644, size: 100},
		{name: "exec.sh", mode: 0o751, size: 3000},
		{name: "secret", mode: 0o600, size: 40000},
		{name: "setuid-bin", mode: 0o755 | fs.ModeSetuid, size: 10},
		{name: "empty", mode: 0o700, dir: true},
		{name: "nested", mode: 0o751, dir: true},
		{name: "nested/deeper", mode: 0o755, dir: true},
		{name: "nested/deeper/deepest", mode: 0o750, dir: true},
		{name: "nested/deeper/deepest/file.bin", mode: 0o640, size: 70000},
		{name: "nested/deeper/emptyfile", mode: 0o644, size: 0},
		{name: "nested/empty2", mode: 0o755, dir: true},
		{name: "sticky", mode: 0o777 | fs.ModeSticky, dir: true},
		{name: "setgid", mode: 0o775 | fs.ModeSetgid, dir: true},
		{name: "setgid/in-setgid", mode: 0o664, size: 5000},
		{name: "links", mode: 0o755, dir: true},
		{name: "links/in", target: "../a.txt"},
		{name: "links/indir", target: "../nested"},
		{name: "links/abs-out", target: "/etc/passwd"},
		{name: "links/rel-out", target: "../../../" + outsideTarget},
		{name: "links/dangling", target: "does-not-exist"},
		{name: "top-link", target: "nested/deeper"},
	}
}

// makeTree creates the fixture at root with a distinct nanosecond mtime on every entry.
func makeTree(t testing.TB, root string, entries []treeEntry) {
	t.Helper()
	for i, e := range entries {
		p := filepath.Join(root, e.name)
		switch {
		case e.dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case e.target != "":
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(e.target, p); err != nil {
				t.Fatal(err)
			}
		default:
			writeFile(t, p, e.size, uint64(100+i), e.mode)
		}
	}
	// Modes and times last, deepest first, so creating children does not change a parent.
	sorted := append([]treeEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name > sorted[j].name })
	base := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for i, e := range sorted {
		p := filepath.Join(root, e.name)
		if e.dir {
			if err := os.Chmod(p, e.mode); err != nil {
				t.Fatal(err)
			}
		}
		setMtime(t, p, base.Add(time.Duration(i)*time.Hour+time.Duration(i)*123456789))
	}
}

// testTree serves a tree with every kind of entry and fetches it with -a in three ways,
// comparing contents, modes, times and symlink targets exactly; a second fetch changes nothing.
func testTree(t *testing.T, rig *netnstest.Rig) {
	top := t.TempDir()
	src := filepath.Join(top, "srv", "tree")
	fixture := treeFixture()
	makeTree(t, src, fixture)
	startServer(t, rig.Sender, src)

	var files, others int64
	for _, e := range fixture {
		if e.dir || e.target != "" {
			others++
		} else {
			files++
		}
	}
	// Each destination sits two levels down in its own directory, so "links/rel-out" would
	// resolve to <case dir>/outside-target if anything followed it.
	caseDir := func(name string) string { return filepath.Join(top, "dst", name) }
	cases := []struct {
		name    string
		remote  string
		dst     string // relative to the case directory
		premake bool   // create dst first (then "tree" lands inside it)
		want    string // what to compare with src, relative to the case directory
		srcRel  string // the part of src fetched
	}{
		{name: "contents", remote: "tree/", dst: "a/dst", want: "a/dst"},
		{name: "into-existing-dir", remote: "tree", dst: "a/dst", premake: true, want: "a/dst/tree"},
		{name: "subdirectory", remote: "tree/nested", dst: "a/nested-copy", want: "a/nested-copy", srcRel: "nested"},
	}
	for _, c := range cases {
		if c.premake {
			if err := os.MkdirAll(filepath.Join(caseDir(c.name), c.dst), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	res := fetchEach(rig.Receivers[:len(cases)], func(i int) []string {
		return []string{"-a", cases[i].remote, filepath.Join(caseDir(cases[i].name), cases[i].dst)}
	})
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := mustSucceed(t, res[i])
			compareTrees(t, filepath.Join(src, c.srcRel), filepath.Join(caseDir(c.name), c.want),
				compareOpts{modes: true, times: true, root: true, noSetid: true})
			if _, err := os.Lstat(filepath.Join(caseDir(c.name), outsideTarget)); err == nil {
				t.Errorf("%s appeared outside the destination", outsideTarget)
			}
			if c.srcRel == "" && (st.Files != files || st.Other != others) {
				t.Errorf("stats: %v; want %d files and %d other entries", st, files, others)
			}
		})
	}

	t.Run("again-unchanged", func(t *testing.T) {
		dst := filepath.Join(caseDir("contents"), "a/dst")
		st := mustSucceed(t, fetch(rig.Receivers[0], "-a", "tree/", dst))
		compareTrees(t, src, dst, compareOpts{modes: true, times: true, root: true, noSetid: true})
		if st.Files != 0 || st.Unchanged != files || st.Received != 0 {
			t.Errorf("stats: %v; want 0 files fetched, %d unchanged, 0 blocks received", st, files)
		}
	})
}
