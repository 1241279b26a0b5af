package localsync

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// makeTree builds a source tree with nested and empty directories, files of
// several sizes, links inside and outside the tree and a FIFO.
func makeTree(t *testing.T, root string) {
	t.Helper()
	writeFile(t, filepath.Join(root, "top.txt"), []byte("top\n"), 0o644)
	writeFile(t, filepath.Join(root, "a", "one.bin"), data(10, 70000), 0o640)
	writeFile(t, filepath.Join(root, "a", "b", "c", "deep.bin"), data(11, 16384), 0o600)
	writeFile(t, filepath.Join(root, "a", "empty.txt"), nil, 0o644)
	writeFile(t, filepath.Join(root, "x", "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	for _, d := range []string{"empty", filepath.Join("a", "b", "void")} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"a/to-top":  "../top.txt",
		"outside":   "../../etc/passwd",
		"absolute":  "/etc/hostname",
		"dangling":  "no/such/thing",
		"a/dirlink": "b",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func withoutFIFO(l []string) []string {
	var out []string
	for _, s := range l {
		if s != "fifo p" {
			out = append(out, s)
		}
	}
	return out
}

func TestSyncTree(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src)
	st, res := syncT(t, src+"/", dst, Options{BlockSize: 1024})
	equalLists(t, "trees", contentListing(t, dst), withoutFIFO(contentListing(t, src)))
	if st.Files != 5 || st.Dirs != 7 || st.Symlinks != 5 || st.Skipped != 1 || st.Created != 5 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
	for p, want := range map[string]string{
		".": ActionMkdir, "a/b/void": ActionMkdir, "a/one.bin": ActionCreate, "outside": ActionSymlink, "fifo": ActionSkip,
	} {
		if res[p].Action != want {
			t.Errorf("%s: action %q, want %q", p, res[p].Action, want)
		}
	}
	// The links are copied, never followed.
	if target, err := os.Readlink(filepath.Join(dst, "outside")); err != nil || target != "../../etc/passwd" {
		t.Fatalf("outside link: %q, %v", target, err)
	}

	st, res = syncT(t, src+"/", dst, Options{BlockSize: 1024})
	if st.Unchanged != 5 || st.Created+st.Updated != 0 || st.BytesWritten+st.BytesCloned != 0 {
		t.Fatalf("resync stats %+v", st)
	}
	if res["a/to-top"].Action != ActionUnchanged || res["a"].Action != ActionDir {
		t.Fatalf("resync results %+v %+v", res["a/to-top"], res["a"])
	}
}

// TestSyncReplacesTypes puts entries of the wrong type in the destination.
func TestSyncReplacesTypes(t *testing.T) {
	dir := t.TempDir()
	src, dst, elsewhere := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "elsewhere")
	writeFile(t, filepath.Join(src, "d1", "f"), []byte("into d1"), 0o644)
	writeFile(t, filepath.Join(src, "d2", "f"), []byte("into d2"), 0o644)
	writeFile(t, filepath.Join(src, "file"), []byte("a file"), 0o644)
	writeFile(t, filepath.Join(src, "dirfile"), []byte("was an empty dir"), 0o644)
	writeFile(t, filepath.Join(src, "d3", "f"), []byte("was a file"), 0o644)
	if err := os.Symlink("new-target", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dst, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	// d1 is a link leaving dst, d2 a link to a directory inside dst: both
	// would be written through if followed.
	must(t, os.Symlink(elsewhere, filepath.Join(dst, "d1")))
	must(t, os.Symlink("inside", filepath.Join(dst, "d2")))
	must(t, os.Symlink(filepath.Join(elsewhere, "victim"), filepath.Join(dst, "file")))
	must(t, os.Mkdir(filepath.Join(dst, "dirfile"), 0o755))
	writeFile(t, filepath.Join(dst, "d3"), []byte("file where a dir goes"), 0o644)
	writeFile(t, filepath.Join(dst, "link"), []byte("file where a link goes"), 0o644)

	syncT(t, src+"/", dst, Options{})
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Fatalf("wrote through a link outside the destination: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(dst, "inside")); len(ents) != 0 {
		t.Fatalf("wrote through a link inside the destination: %v", ents)
	}
	want := contentListing(t, src)
	got := contentListing(t, dst)
	var filtered []string
	for _, l := range got {
		if l != "inside d" {
			filtered = append(filtered, l)
		}
	}
	equalLists(t, "trees", filtered, want)
}

// TestSyncNonEmptyDirReplacedOnlyWithDelete needs Delete to replace a
// non-empty directory by a file.
func TestSyncNonEmptyDirReplacedOnlyWithDelete(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, filepath.Join(src, "x"), []byte("file"), 0o644)
	writeFile(t, filepath.Join(dst, "x", "keep"), []byte("precious"), 0o644)
	res := results{}
	st, err := Sync(t.Context(), src+"/", dst, Options{OnFile: res.onFile})
	if err == nil || st.Errors != 1 || res["x"].Action != ActionError || !errorsIsAny(err, syscall.ENOTEMPTY, syscall.EEXIST) {
		t.Fatalf("without Delete: %v, %+v", err, st)
	}
	if _, err := os.Stat(filepath.Join(dst, "x", "keep")); err != nil {
		t.Fatal("directory contents lost without Delete")
	}
	syncT(t, src+"/", dst, Options{Delete: true})
	if string(readFile(t, filepath.Join(dst, "x"))) != "file" {
		t.Fatal("directory not replaced with Delete")
	}
}

func TestSyncPerms(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	modes := map[string]fs.FileMode{
		"rw-------": 0o600, "rwxr-xr-x": 0o755, "r--r--r--": 0o444, "rwxrwxrwx": 0o777,
	}
	for name, m := range modes {
		writeFile(t, filepath.Join(src, name), []byte(name), m)
	}
	writeFile(t, filepath.Join(src, "setuid"), []byte("s"), 0o755)
	must(t, os.Chmod(filepath.Join(src, "setuid"), 0o755|fs.ModeSetuid))
	must(t, os.Mkdir(filepath.Join(src, "ro-dir"), 0o755))
	writeFile(t, filepath.Join(src, "ro-dir", "f"), []byte("f"), 0o644)
	must(t, os.Chmod(filepath.Join(src, "ro-dir"), 0o555))
	t.Cleanup(func() { os.Chmod(filepath.Join(src, "ro-dir"), 0o755); os.Chmod(filepath.Join(dst, "ro-dir"), 0o755) })
	// An existing destination file with its own mode.
	writeFile(t, filepath.Join(dst, "rw-------"), []byte("old"), 0o640)

	syncT(t, src+"/", dst, Options{})
	mode := func(p string) fs.FileMode {
		fi, err := os.Lstat(filepath.Join(dst, p))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode() & (fs.ModePerm | fs.ModeSetuid)
	}
	// Without Perms: an updated file keeps its mode, new ones get the
	// source's masked by the umask.
	if m := mode("rw-------"); m != 0o640 {
		t.Errorf("updated file has mode %v, want it kept at 0640", m)
	}
	if m := mode("rwxrwxrwx"); m != 0o755 {
		t.Errorf("new file has mode %v, want 0777 &^ umask", m)
	}
	if m := mode("setuid"); m != 0o755 {
		t.Errorf("setuid copied without Perms: %v", m)
	}
	if m := mode("ro-dir"); m != 0o555 {
		t.Errorf("new directory has mode %v, want 0555", m)
	}

	syncT(t, src+"/", dst, Options{Perms: true})
	for name, m := range modes {
		if got := mode(name); got != m {
			t.Errorf("%s: mode %v, want %v", name, got, m)
		}
	}
	// Perms without the owner: the setuid bit goes (review H7).
	if m := mode("setuid"); m != 0o755 {
		t.Errorf("setuid copied without its owner: mode %v", m)
	}
	// With the owner kept (root only; skipped silently otherwise), it stays.
	syncT(t, src+"/", dst, Options{Perms: true, Owner: true, Group: true})
	want := fs.FileMode(0o755)
	if os.Geteuid() == 0 {
		want |= fs.ModeSetuid
	}
	if m := mode("setuid"); m != want {
		t.Errorf("setuid with -o -g (euid %d): mode %v, want %v", os.Geteuid(), m, want)
	}
}

func TestSyncTimes(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, filepath.Join(src, "d", "f"), data(20, 5000), 0o644)
	writeFile(t, filepath.Join(src, "same"), []byte("same"), 0o644)
	must(t, os.Symlink("f", filepath.Join(src, "d", "l")))
	past := time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)
	for i, p := range []string{"d/f", "d/l", "d", "same", "."} {
		ts := []unix.Timespec{unix.NsecToTimespec(past.UnixNano()), unix.NsecToTimespec(past.Add(time.Duration(i) * time.Hour).UnixNano())}
		must(t, unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(src, p), ts, unix.AT_SYMLINK_NOFOLLOW))
	}
	// "same" already exists with identical content: only its time changes.
	writeFile(t, filepath.Join(dst, "same"), []byte("same"), 0o644)

	syncT(t, src+"/", dst, Options{})
	if l := listing(t, dst, true); equalNoFail(l, listing(t, src, true)) {
		t.Fatal("times copied without Times")
	}
	st, _ := syncT(t, src+"/", dst, Options{Times: true})
	if st.BytesWritten != 0 {
		t.Fatalf("Times rewrote data: %+v", st)
	}
	equalLists(t, "listings with times", listing(t, dst, true), listing(t, src, true))
}

func equalNoFail(a, b []string) bool {
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

func TestSyncDelete(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, filepath.Join(src, "keep"), []byte("k"), 0o644)
	writeFile(t, filepath.Join(src, "sub", "keep"), []byte("k"), 0o644)
	writeFile(t, filepath.Join(dst, "extra"), []byte("x"), 0o644)
	writeFile(t, filepath.Join(dst, "sub", "extra-dir", "deep"), []byte("x"), 0o644)
	must(t, os.Symlink("/", filepath.Join(dst, "extra-link")))

	st, _ := syncT(t, src+"/", dst, Options{})
	if st.Deleted != 0 {
		t.Fatalf("deleted without Delete: %+v", st)
	}
	if _, err := os.Lstat(filepath.Join(dst, "extra-link")); err != nil {
		t.Fatal(err)
	}
	st, res := syncT(t, src+"/", dst, Options{Delete: true})
	if st.Deleted != 3 || res["sub/extra-dir"].Action != ActionDelete || res["extra-link"].Action != ActionDelete {
		t.Fatalf("Delete: %+v %v", st, res)
	}
	equalLists(t, "trees", contentListing(t, dst), contentListing(t, src))
}

// TestSyncDryRunTouchesNothing compares a full listing (modes, times,
// hashes) of the destination before and after a dry run that would create,
// update, delete and re-time things.
func TestSyncDryRunTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src)
	syncT(t, src+"/", dst, Options{})
	writeFile(t, filepath.Join(src, "a", "one.bin"), data(99, 90000), 0o600)
	writeFile(t, filepath.Join(src, "new", "file"), []byte("new"), 0o644)
	writeFile(t, filepath.Join(dst, "extra"), []byte("extra"), 0o644)
	must(t, os.Remove(filepath.Join(dst, "a", "to-top")))
	must(t, os.Symlink("wrong", filepath.Join(dst, "a", "to-top")))
	before := listing(t, dst, true)
	dirBefore := listing(t, dir, true)

	opt := Options{DryRun: true, Delete: true, Perms: true, Times: true, BlockSize: 1024}
	st, res := syncT(t, src+"/", dst, opt)
	equalLists(t, "destination after a dry run", listing(t, dst, true), before)
	equalLists(t, "parent after a dry run", listing(t, dir, true), dirBefore)
	if r := res["a/one.bin"]; r.Action != ActionUpdate || r.ChangedBlocks == 0 || r.BytesCopied == 0 {
		t.Errorf("dry-run update: %+v", r)
	}
	for p, want := range map[string]string{"new": ActionMkdir, "new/file": ActionCreate, "extra": ActionDelete, "a/to-top": ActionSymlink} {
		if res[p].Action != want {
			t.Errorf("%s: %q, want %q", p, res[p].Action, want)
		}
	}
	if st.BytesRead != 0 || st.BytesWritten != 0 || st.BytesCloned != 0 || st.Deleted != 1 {
		t.Errorf("dry-run stats %+v", st)
	}

	// Into a destination that does not exist: no mkdir either.
	missing := filepath.Join(dir, "missing")
	st, res = syncT(t, src, missing, opt)
	if _, err := os.Lstat(missing); err == nil {
		t.Fatal("dry run created the destination")
	}
	if res["."].Action != ActionMkdir || res["a/b/c/deep.bin"].Action != ActionCreate || st.Files != 6 {
		t.Fatalf("dry run into a missing destination: %+v", st)
	}
	equalLists(t, "parent after a dry run", listing(t, dir, true), dirBefore)
}

// TestTrailingSlashRule checks where the copy lands for each form of the
// arguments.
func TestTrailingSlashRule(t *testing.T) {
	tests := []struct {
		name      string
		src, dst  string // relative to the test directory
		mkdirDst  bool
		wantFile  string // where src/dir/f (or the file) must land
		wantNoDir string // a path that must not exist
	}{
		{"contents into existing", "dir/", "out", true, "out/f", "out/dir"},
		{"contents into new", "dir/", "out", false, "out/f", "out/dir"},
		{"dir into existing", "dir", "out", true, "out/dir/f", "out/f"},
		{"dir to new path", "dir", "out", false, "out/f", "out/dir"},
		{"dir into existing with slash", "dir", "out/", true, "out/dir/f", "out/f"},
		{"file into existing dir", "file", "out", true, "out/file", ""},
		{"file to new path", "file", "out", false, "out", ""},
		{"file into new dir with slash", "file", "out/", false, "out/file", ""},
		{"dot-slash contents", "dir/./", "out", true, "out/f", "out/dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			writeFile(t, filepath.Join(d, "dir", "f"), []byte("content"), 0o644)
			writeFile(t, filepath.Join(d, "file"), []byte("content"), 0o644)
			if tc.mkdirDst {
				must(t, os.Mkdir(filepath.Join(d, "out"), 0o755))
			}
			src := filepath.Join(d, tc.src)
			if len(tc.src) > 0 && tc.src[len(tc.src)-1] == '/' {
				src += "/"
			}
			dst := filepath.Join(d, tc.dst)
			if tc.dst[len(tc.dst)-1] == '/' {
				dst += "/"
			}
			syncT(t, src, dst, Options{})
			if got := string(readFile(t, filepath.Join(d, tc.wantFile))); got != "content" {
				t.Fatalf("%s holds %q", tc.wantFile, got)
			}
			if tc.wantNoDir != "" {
				if _, err := os.Lstat(filepath.Join(d, tc.wantNoDir)); err == nil {
					t.Fatalf("%s exists", tc.wantNoDir)
				}
			}
		})
	}
}

// TestSyncIntoItself syncs a directory into a directory inside it: the
// copy must not be copied into itself again.
func TestSyncIntoItself(t *testing.T) {
	d := t.TempDir()
	a := filepath.Join(d, "a")
	writeFile(t, filepath.Join(a, "f"), []byte("x"), 0o644)
	syncT(t, a, a, Options{})
	if got := string(readFile(t, filepath.Join(a, "a", "f"))); got != "x" {
		t.Fatalf("a/a/f = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(a, "a", "a")); err == nil {
		t.Fatal("a/a/a exists: the copy was copied into itself")
	}
	syncT(t, a+"/", filepath.Join(a, "inner"), Options{})
	if _, err := os.Lstat(filepath.Join(a, "inner", "inner")); err == nil {
		t.Fatal("a/inner/inner exists")
	}
	// The same file onto itself is a no-op.
	st, _ := syncT(t, filepath.Join(a, "f"), filepath.Join(a, "f"), Options{})
	if st.Unchanged != 1 || st.BytesWritten != 0 {
		t.Fatalf("file onto itself: %+v", st)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
