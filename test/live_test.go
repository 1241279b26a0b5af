package test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestLive covers the server side of live sync (issue 16) and the fix it needed first: a
// manifest request is never answered from a stale index, with or without --watch; --watch
// publishes writes once they are complete; the shrink guard keeps a mass deletion from
// reaching receivers; excluded paths are never served.
func TestLive(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	t.Run("FetchRightAfterWrite", func(t *testing.T) { testFetchRightAfterWrite(t, rig) })
	t.Run("WatchFetchRightAfterWrite", func(t *testing.T) { testFetchRightAfterWrite(t, rig, "--watch") })
	t.Run("PollFetchRightAfterWrite", func(t *testing.T) { testFetchRightAfterWrite(t, rig, "--watch=poll:1h") })
	t.Run("WatchDebounced", func(t *testing.T) { testWatchDebounced(t, rig) })
	t.Run("ShrinkGuard", func(t *testing.T) { testShrinkGuard(t, rig, false) })
	t.Run("AllowShrink", func(t *testing.T) { testShrinkGuard(t, rig, true) })
	t.Run("Excludes", func(t *testing.T) { testServerExcludes(t, rig) })
	t.Run("WatchStorm", func(t *testing.T) { testWatchStorm(t, rig) })
}

// testWatchStorm: a storm of changes (2,000 files in 20 new directories, 20,000 attribute
// changes, more than inotify's default queue of 16,384 events, then 5 directories removed and
// one renamed) ends with the served share equal to the disk, whether or not the watcher's
// queue overflowed on the way.
func testWatchStorm(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "storm")
	writeFile(t, filepath.Join(src, "seed.bin"), 1000, 1, 0o644)
	writeFile(t, filepath.Join(src, "other.bin"), 1000, 2, 0o644)
	srv := startServer(t, rig.Sender, "--watch", "--stats", src)
	for d := range 20 {
		for f := range 100 {
			writeFile(t, filepath.Join(src, fmt.Sprintf("d%02d", d), fmt.Sprintf("f%03d", f)), int64(100+f), uint64(d*100+f), 0o644)
		}
	}
	for i := range 20000 {
		if err := os.Chmod(filepath.Join(src, []string{"seed.bin", "other.bin"}[i%2]), os.FileMode(0o600|(i/2%2)*0o044)); err != nil {
			t.Fatal(err)
		}
	}
	for d := range 5 {
		if err := os.RemoveAll(filepath.Join(src, fmt.Sprintf("d%02d", d))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(filepath.Join(src, "d10"), filepath.Join(src, "moved")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	dst := filepath.Join(t.TempDir(), "dst")
	mustSucceed(t, fetch(rig.Receivers[0], "-a", "storm/", dst))
	compareTrees(t, src, dst, compareOpts{modes: true, times: true})
	srv.stop()
	for _, l := range strings.Split(srv.out.String(), "\n") {
		if strings.HasPrefix(l, "watch (") {
			t.Logf("server: %s", l)
		}
	}
}

// testFetchRightAfterWrite: each fetch starts right after a file was written, and within a
// second of the previous fetch (so of the previous walk of the share): it must get the file.
// Before the fix, such a fetch got the manifest of the previous walk.
// With --watch=poll:1h the poller never sees the writes in time: the request's rescan must.
func testFetchRightAfterWrite(t *testing.T, rig *netnstest.Rig, opts ...string) {
	src := filepath.Join(t.TempDir(), "fresh")
	writeFile(t, filepath.Join(src, "base.bin"), 100000, 1, 0o644)
	startServer(t, rig.Sender, append(opts, src)...)
	mustSucceed(t, fetch(rig.Receivers[0], "fresh/", filepath.Join(t.TempDir(), "warm")))
	for i := range 3 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("new%d.bin", i)), int64(5000+i*70000), uint64(10+i), 0o644)
		if i == 2 {
			writeFile(t, filepath.Join(src, "base.bin"), 100000, 99, 0o644) // rewritten in place
		}
		dst := filepath.Join(t.TempDir(), "dst")
		mustSucceed(t, fetch(rig.Receivers[0], "fresh/", dst))
		compareTrees(t, src, dst, compareOpts{})
		if t.Failed() {
			t.Fatalf("fetch %d, started right after a write, missed it", i)
		}
	}
}

// testWatchDebounced: a file written slowly (open, half, pause, rest, close) is fetched after
// the debounce whole, never half; a chmod alone is published too.
func testWatchDebounced(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "slow")
	writeFile(t, filepath.Join(src, "a.bin"), 3000, 1, 0o644)
	srv := startServer(t, rig.Sender, "--watch", "--settle", "100ms", "--stats", src)
	data := make([]byte, 600000)
	newContent(7).chunk(data, 0)
	f, err := os.Create(filepath.Join(src, "slow.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data[:300000]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // less than --settle: not published half-written
	if _, err := f.Write(data[300000:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	dst := filepath.Join(t.TempDir(), "dst")
	mustSucceed(t, fetch(rig.Receivers[0], "-a", "slow/", dst))
	compareTrees(t, src, dst, compareOpts{modes: true, times: true})

	if err := os.Chmod(filepath.Join(src, "a.bin"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	mustSucceed(t, fetch(rig.Receivers[0], "-a", "slow/", dst))
	compareTrees(t, src, dst, compareOpts{modes: true, times: true})
	if code := srv.stop(); code != 0 {
		t.Errorf("server exit status %d", code)
	}
	if out := srv.out.String(); !strings.Contains(out, "watch (inotify)") || strings.Contains(out, " 0 generations published") {
		t.Errorf("server --stats does not show inotify and published generations:\n%s", out)
	}
}

// testShrinkGuard: with --watch, deleting 6 of 10 files is not published (a fetch with
// --delete keeps them, the server says why) unless --allow-shrink.
func testShrinkGuard(t *testing.T, rig *netnstest.Rig, allow bool) {
	src := filepath.Join(t.TempDir(), "guarded")
	for i := range 10 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%d.bin", i)), int64(2000+i), uint64(i), 0o644)
	}
	args := []string{"--watch", src}
	if allow {
		args = []string{"--watch", "--allow-shrink", src}
	}
	srv := startServer(t, rig.Sender, args...)
	dst := filepath.Join(t.TempDir(), "dst")
	mustSucceed(t, fetch(rig.Receivers[0], "guarded/", dst))
	for i := range 6 {
		if err := os.Remove(filepath.Join(src, fmt.Sprintf("f%d.bin", i))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	mustSucceed(t, fetch(rig.Receivers[0], "--delete", "guarded/", dst))
	got := listDir(t, dst)
	said := strings.Contains(srv.out.String(), "more than half of the files disappeared")
	if allow {
		if len(got) != 4 || said {
			t.Errorf("with --allow-shrink: destination has %q (want 4 files), guard logged: %v", got, said)
		}
		return
	}
	if len(got) != 10 {
		t.Errorf("the guard let a 60%% deletion through: destination has %q", got)
	}
	if !said {
		t.Errorf("the server did not say why it kept the previous generation:\n%s", srv.out)
	}
}

// testServerExcludes: excluded paths are not served, included ones are, and lcsync's own
// temporary files never are.
func testServerExcludes(t *testing.T, rig *netnstest.Rig) {
	top := t.TempDir()
	src := filepath.Join(top, "ex")
	for _, p := range []string{"main.c", "main.o", "keep.o", "build/out.bin", "sub/build/x.c", "sub/y.o", "sub/.y.c.lcsync-0123abcd"} {
		writeFile(t, filepath.Join(src, p), 1000, 3, 0o644)
	}
	rules := filepath.Join(top, "rules")
	if err := os.WriteFile(rules, []byte("# anchored: only the top build/\n/build/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startServer(t, rig.Sender, "--watch", "--include", "keep.o", "--exclude", "*.o", "--exclude-from", rules, src)
	dst := filepath.Join(t.TempDir(), "dst")
	mustSucceed(t, fetch(rig.Receivers[0], "ex/", dst))
	var got []string
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dst, p)
			got = append(got, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{"keep.o", "main.c", "sub/build/x.c"}
	if !slices.Equal(got, want) {
		t.Errorf("fetched %q, want %q", got, want)
	}
	// An excluded file written while serving stays out; a served one written too comes in.
	writeFile(t, filepath.Join(src, "late.o"), 100, 4, 0o644)
	writeFile(t, filepath.Join(src, "late.c"), 100, 5, 0o644)
	mustSucceed(t, fetch(rig.Receivers[0], "ex/", dst))
	names := listDir(t, dst)
	if slices.Contains(names, "late.o") || !slices.Contains(names, "late.c") {
		t.Errorf("after late.o and late.c were written: %q", names)
	}
}
