package watch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/exclude"
	"golang.org/x/sys/unix"
)

// rig runs a Watcher on a temporary directory and collects what it sends.
type rig struct {
	t    *testing.T
	dir  string
	w    *Watcher
	mu   sync.Mutex
	got  []Batch
	news chan struct{}
}

func fastConfig(dir string) Config {
	return Config{Root: dir, Settle: 30 * time.Millisecond, Window: 10 * time.Millisecond, BatchMax: 200 * time.Millisecond, MaxDelay: time.Second}
}

func startRig(t *testing.T, cfg Config, setup func(dir string)) *rig {
	t.Helper()
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	if setup != nil {
		setup(cfg.Root)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return runRig(t, cfg.Root, w)
}

func runRig(t *testing.T, dir string, w *Watcher) *rig {
	r := &rig{t: t, dir: dir, w: w, news: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	go func() {
		for {
			select {
			case b := <-w.Batches():
				r.mu.Lock()
				r.got = append(r.got, b)
				r.mu.Unlock()
				select {
				case r.news <- struct{}{}:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return r
}

// waitFor waits until the batches received (since the last waitFor) satisfy ok, and returns
// them.
func (r *rig) waitFor(what string, ok func([]Batch) bool) []Batch {
	r.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]Batch(nil), r.got...)
		r.mu.Unlock()
		if ok(got) {
			r.mu.Lock()
			r.got = nil
			r.mu.Unlock()
			return got
		}
		select {
		case <-r.news:
		case <-deadline:
			r.t.Fatalf("no batch with %s within 5s; got %+v", what, got)
		}
	}
}

// change returns the change of rel in bs, if any.
func change(bs []Batch, rel string) (Change, bool) {
	for _, b := range bs {
		for _, c := range b.Changes {
			if c.Rel == rel {
				return c, true
			}
		}
	}
	return Change{}, false
}

func has(rels ...string) func([]Batch) bool {
	return func(bs []Batch) bool {
		for _, r := range rels {
			if _, ok := change(bs, r); !ok {
				return false
			}
		}
		return true
	}
}

func rescanned(bs []Batch) bool {
	for _, b := range bs {
		if b.Rescan {
			return true
		}
	}
	return false
}

func mustWrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCreateModifyChmodRenameDelete(t *testing.T) {
	r := startRig(t, fastConfig(""), func(dir string) { mustWrite(t, filepath.Join(dir, "old"), "x") })
	if r.w.Mode() != "inotify" {
		t.Fatalf("mode %s, want inotify", r.w.Mode())
	}
	mustWrite(t, filepath.Join(r.dir, "f"), "hello")
	if c, _ := change(r.waitFor("f created", has("f")), "f"); c.Meta || c.Tree {
		t.Errorf("a new file reported as %+v", c)
	}
	mustWrite(t, filepath.Join(r.dir, "old"), "changed")
	if c, _ := change(r.waitFor("old modified", has("old")), "old"); c.Meta {
		t.Errorf("a rewritten file reported as metadata only: %+v", c)
	}
	if err := os.Chmod(filepath.Join(r.dir, "f"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, _ := change(r.waitFor("f chmodded", has("f")), "f"); !c.Meta {
		t.Errorf("a chmod reported as %+v, want metadata only", c)
	}
	if err := os.Rename(filepath.Join(r.dir, "f"), filepath.Join(r.dir, "g")); err != nil {
		t.Fatal(err)
	}
	bs := r.waitFor("the rename's two names", has("f", "g"))
	if len(bs) != 1 {
		t.Errorf("a rename took %d batches, want 1: %+v", len(bs), bs)
	}
	if err := os.Remove(filepath.Join(r.dir, "g")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("g deleted", has("g"))
}

// TestNewDirectoryThenFile: a directory made with files in it at once is reported whole; it
// is watched, so a file written in it later is reported by name.
func TestNewDirectoryThenFile(t *testing.T) {
	r := startRig(t, fastConfig(""), nil)
	sub := filepath.Join(r.dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(sub, "early"), "1")
	bs := r.waitFor("a/ as a tree", has("a"))
	if c, _ := change(bs, "a"); !c.Tree {
		t.Errorf("new directory reported as %+v, want Tree", c)
	}
	mustWrite(t, filepath.Join(sub, "late"), "2")
	r.waitFor("a/b/late", has("a/b/late"))
	if got := r.w.Stats().Watches; got != 1 {
		// Watches counts those set up by New; the ones added later are in the backend.
		t.Logf("watches at start: %d", got)
	}
	if n := len(r.w.ino.byWd); n != 3 {
		t.Errorf("%d directories watched, want 3 (root, a, a/b)", n)
	}
}

// TestOverflowRescans: a queue overflow (injected through the event channel, since lowering
// fs.inotify.max_queued_events would affect every process on the host) asks for a rescan,
// and directories made meanwhile get watched.
func TestOverflowRescans(t *testing.T) {
	r := startRig(t, fastConfig(""), nil)
	if err := os.Mkdir(filepath.Join(r.dir, "unseen"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.waitFor("unseen/", has("unseen"))
	r.w.ino.events <- []event{{wd: -1, mask: unix.IN_Q_OVERFLOW}}
	r.waitFor("a rescan", rescanned)
	deadline := time.Now().Add(time.Second) // the counters follow the send
	for st := r.w.Stats(); st.Overflows != 1 || st.Rescans != 1; st = r.w.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want 1 overflow and 1 rescan", st)
		}
		time.Sleep(time.Millisecond)
	}
	mustWrite(t, filepath.Join(r.dir, "unseen", "f"), "x")
	r.waitFor("unseen/f", has("unseen/f"))
}

// TestRealOverflow fills the kernel's queue for real (more events than
// fs.inotify.max_queued_events while the watcher is not reading) and checks a rescan follows.
func TestRealOverflow(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skipf("cannot read max_queued_events: %v", err)
	}
	var limit int
	if _, err := fmtSscan(strings.TrimSpace(string(b)), &limit); err != nil || limit > 70000 {
		t.Skipf("max_queued_events is %q: too many events to generate in a unit test", b)
	}
	dir := t.TempDir()
	w, err := New(fastConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	// Not running yet: events queue up in the kernel. Each chmod is one IN_ATTRIB, on two
	// files in turn (the kernel merges an event identical to the one queued last).
	f, g := filepath.Join(dir, "f"), filepath.Join(dir, "g")
	mustWrite(t, f, "x")
	mustWrite(t, g, "x")
	for i := 0; i <= limit+10; i++ {
		if err := os.Chmod([]string{f, g}[i%2], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := runRig(t, dir, w)
	r.waitFor("a rescan after a real overflow", rescanned)
	if w.Stats().Overflows == 0 {
		t.Error("no overflow counted")
	}
}

func TestRootVanishes(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "share")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(root)
	r := startRig(t, cfg, nil)
	if err := os.Rename(root, root+".moved"); err != nil {
		t.Fatal(err)
	}
	r.waitFor("a rescan after the root moved", rescanned)
	// It comes back (a remount): it is watched again and rescanned.
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	r.waitFor("a rescan after the root came back", rescanned)
	mustWrite(t, filepath.Join(root, "new"), "x")
	r.waitFor("new, in the new root", has("new"))
}

func TestExcludedNotReported(t *testing.T) {
	m := &exclude.Matcher{}
	for _, p := range []string{"*.o", "/build/"} {
		if err := m.Exclude(p); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fastConfig("")
	cfg.Exclude = m
	r := startRig(t, cfg, func(dir string) {
		if err := os.Mkdir(filepath.Join(dir, "build"), 0o755); err != nil {
			t.Fatal(err)
		}
	})
	mustWrite(t, filepath.Join(r.dir, "x.o"), "o")
	mustWrite(t, filepath.Join(r.dir, "build", "y"), "y")
	mustWrite(t, filepath.Join(r.dir, ".z.lcsync-0123abcd"), "tmp")
	mustWrite(t, filepath.Join(r.dir, "x.c"), "c")
	bs := r.waitFor("x.c", has("x.c"))
	for _, rel := range []string{"x.o", "build/y", ".z.lcsync-0123abcd"} {
		if _, ok := change(bs, rel); ok {
			t.Errorf("excluded %s reported", rel)
		}
	}
	if _, ok := r.w.ino.byPath["build"]; ok {
		t.Error("excluded directory build/ is watched")
	}
}

// TestWatchLimitFallsBackToPolling: when inotify_add_watch says ENOSPC, the watcher says
// which sysctl to raise and polls instead, and polling reports changes.
func TestWatchLimitFallsBackToPolling(t *testing.T) {
	dir := t.TempDir()
	var log strings.Builder
	cfg := fastConfig(dir)
	cfg.Logger = newTestLogger(&log)
	full := func(int, string, uint32) (int, error) { return -1, unix.ENOSPC }
	w, err := newWatcher(cfg, full)
	if err != nil {
		t.Fatal(err)
	}
	if w.Mode() != "poll" {
		t.Fatalf("mode %s, want poll", w.Mode())
	}
	if !strings.Contains(log.String(), "fs.inotify.max_user_watches") || !strings.Contains(log.String(), "sysctl -w") {
		t.Errorf("fallback notice %q does not say which sysctl to raise", log.String())
	}
	w.cfg.Poll = 50 * time.Millisecond // the real default is 10s
	r := runRig(t, dir, w)
	mustWrite(t, filepath.Join(dir, "p"), "1")
	r.waitFor("p, by polling", has("p"))
	if err := os.Remove(filepath.Join(dir, "p")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("p deleted, by polling", has("p"))
}

func TestPollChosen(t *testing.T) {
	cfg := fastConfig("")
	cfg.Poll = 40 * time.Millisecond
	r := startRig(t, cfg, func(dir string) { mustWrite(t, filepath.Join(dir, "a"), "1") })
	if r.w.Mode() != "poll" {
		t.Fatalf("mode %s", r.w.Mode())
	}
	if err := os.Mkdir(filepath.Join(r.dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(r.dir, "d", "x"), "x")
	mustWrite(t, filepath.Join(r.dir, "a"), "22")
	r.waitFor("d, d/x and a", has("d", "d/x", "a"))
}

func TestSingleFileShare(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f.iso")
	mustWrite(t, f, "v1")
	r := startRig(t, fastConfig(f), nil)
	mustWrite(t, filepath.Join(dir, "other"), "not ours")
	mustWrite(t, f, "v2")
	bs := r.waitFor("the file, as the root", has(""))
	for _, b := range bs {
		for _, c := range b.Changes {
			if c.Rel != "" {
				t.Errorf("change %+v outside a single-file share", c)
			}
		}
	}
}

// TestPendingSeesQueuedEvents: an event the kernel queued but the watcher has not read yet
// already counts as pending, so that a manifest request right after a write waits for it.
func TestPendingSeesQueuedEvents(t *testing.T) {
	dir := t.TempDir()
	w, err := New(fastConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	w.running.Store(true) // as if Run were running but had not read anything yet
	defer w.ino.f.Close()
	if w.Pending() {
		t.Fatal("pending before any change")
	}
	mustWrite(t, filepath.Join(dir, "f"), "x")
	if !w.Pending() {
		t.Fatal("a queued event is not pending")
	}
}
