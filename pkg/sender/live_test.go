package sender

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/watch"
)

// fakeNet is a Trigger whose joins the test injects and a Transport that records, for the
// manifest group, the sender's generation at each datagram sent.
type fakeNet struct {
	mu       sync.Mutex
	events   []mld.Event
	notify   chan struct{}
	manifest netip.Addr
	s        *Sender
	sent     []uint64 // the generation (from Stats) when each manifest datagram went out
}

func newFakeNet() *fakeNet { return &fakeNet{notify: make(chan struct{}, 1)} }

func (f *fakeNet) Send(_ int, ds []mcast.Datagram) (int, error) {
	gen := f.s.Stats().Generation
	f.mu.Lock()
	for _, d := range ds {
		if d.Group == f.manifest {
			f.sent = append(f.sent, gen)
		}
	}
	f.mu.Unlock()
	return len(ds), nil
}
func (f *fakeNet) Ifaces() []net.Interface     { return []net.Interface{{Index: 1, Name: "fake0"}} }
func (f *fakeNet) Wanted(int, netip.Addr) bool { return true }
func (f *fakeNet) Notify() <-chan struct{}     { return f.notify }
func (f *fakeNet) TakeEvents(dst []mld.Event) []mld.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	dst = append(dst, f.events...)
	f.events = nil
	return dst
}

// join injects a join of the manifest group from host h.
func (f *fakeNet) join(h byte) { f.report(mld.Event{Ifindex: 1, Group: f.manifest, Source: host(h)}) }

// leave injects a leave of the manifest group from host h.
func (f *fakeNet) leave(h byte) {
	f.report(mld.Event{Ifindex: 1, Group: f.manifest, Source: host(h), Leave: true})
}

func (f *fakeNet) report(ev mld.Event) {
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// manifestSent returns the generations of the manifest datagrams sent so far.
func (f *fakeNet) manifestSent() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint64(nil), f.sent...)
}

type fakeWatch struct {
	ch      chan watch.Batch
	pending atomic.Bool
	polls   bool
}

func (w *fakeWatch) Batches() <-chan watch.Batch { return w.ch }
func (w *fakeWatch) Pending() bool               { return w.pending.Load() }
func (w *fakeWatch) Polls() bool                 { return w.polls }

// liveRig serves a share of n files with a fake watcher (nil: without --watch).
func liveRig(t *testing.T, n int, fw *fakeWatch, allowShrink bool) (*Sender, *fakeNet, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "share")
	for i := range n {
		writeTestFile(t, filepath.Join(dir, fmt.Sprintf("f%02d", i)), fmt.Sprint("content ", i))
	}
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	fn := newFakeNet()
	cfg := Config{Index: ix, Transport: fn, Trigger: fn, AllowShrink: allowShrink}
	if fw != nil {
		cfg.Watch = fw
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fn.s, fn.manifest = s, s.tab.manifest
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s, fn, dir
}

func writeTestFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLivePublishesAndPushes: a change publishes one new generation, pushed at once on the
// manifest channel and again a little later; a change of attributes publishes without
// hashing; a change that changes nothing publishes nothing.
func TestLivePublishesAndPushes(t *testing.T) {
	fw := &fakeWatch{ch: make(chan watch.Batch)}
	s, fn, dir := liveRig(t, 4, fw, false)
	gen0 := s.Stats().Generation
	// A follower: it joined the manifest channel and stays.
	fn.join(9)
	eventually(t, "the follower's manifest", func() bool { return len(fn.manifestSent()) > 0 })
	time.Sleep(100 * time.Millisecond)
	before := len(fn.manifestSent())
	writeTestFile(t, filepath.Join(dir, "new"), "new file")
	fw.ch <- watch.Batch{Changes: []watch.Change{{Rel: "new"}}}
	eventually(t, "a new generation", func() bool { return s.Stats().Generation == gen0+1 })
	eventually(t, "the push and its three repeats", func() bool { return s.Stats().Pushes >= 4 })
	if st := s.Stats(); st.Updates != 1 || st.Hashed != 1 {
		t.Errorf("after one new file: %d updates, %d hashed; want 1, 1", st.Updates, st.Hashed)
	}
	for _, g := range fn.manifestSent()[before:] {
		if g != gen0+1 {
			t.Fatalf("a manifest datagram went out at generation %d, want only %d", g, gen0+1)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "f01"), 0o600); err != nil {
		t.Fatal(err)
	}
	fw.ch <- watch.Batch{Changes: []watch.Change{{Rel: "f01", Meta: true}}}
	eventually(t, "the chmod's generation", func() bool { return s.Stats().Generation == gen0+2 })
	if st := s.Stats(); st.Hashed != 1 {
		t.Errorf("a chmod hashed a file (%d hashed in all)", st.Hashed)
	}
	fw.ch <- watch.Batch{Changes: []watch.Change{{Rel: "f02"}}} // not really changed
	fw.ch <- watch.Batch{}                                      // a no-op batch, to wait on
	time.Sleep(100 * time.Millisecond)
	if st := s.Stats(); st.Generation != gen0+2 || st.Hashed != 2 {
		t.Errorf("unchanged content: generation %d (want %d), %d hashed (want 2)", st.Generation, gen0+2, st.Hashed)
	}
	// Once the follower left, nobody listens: a new generation is not pushed.
	time.Sleep(pushRepeats[len(pushRepeats)-1] + 100*time.Millisecond)
	fn.leave(9)
	pushes, sent := s.Stats().Pushes, len(fn.manifestSent())
	writeTestFile(t, filepath.Join(dir, "unheard"), "nobody listens")
	fw.ch <- watch.Batch{Changes: []watch.Change{{Rel: "unheard"}}}
	eventually(t, "the generation nobody hears", func() bool { return s.Stats().Generation == gen0+3 })
	time.Sleep(pushRepeats[len(pushRepeats)-1] + 100*time.Millisecond)
	if st := s.Stats(); st.Pushes != pushes || len(fn.manifestSent()) != sent {
		t.Errorf("pushed %d times (%d datagrams) with nobody listening", st.Pushes-pushes, len(fn.manifestSent())-sent)
	}
}

// TestLiveShrinkGuard: deleting 60% of the files publishes nothing; the previous generation
// is served; the guard lets it through with AllowShrink.
func TestLiveShrinkGuard(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			fw := &fakeWatch{ch: make(chan watch.Batch)}
			s, fn, dir := liveRig(t, 10, fw, allow)
			gen0 := s.Stats().Generation
			var cs []watch.Change
			for i := range 6 {
				rel := fmt.Sprintf("f%02d", i)
				if err := os.Remove(filepath.Join(dir, rel)); err != nil {
					t.Fatal(err)
				}
				cs = append(cs, watch.Change{Rel: rel})
			}
			fw.ch <- watch.Batch{Changes: cs}
			if allow {
				eventually(t, "the shrunk generation", func() bool { return s.Stats().Generation == gen0+1 })
				return
			}
			eventually(t, "the guard", func() bool { return s.Stats().ShrinkRefusals == 1 })
			fn.join(1)
			eventually(t, "the manifest", func() bool { return len(fn.manifestSent()) > 0 })
			if g := s.Stats().Generation; g != gen0 {
				t.Fatalf("generation %d published, want %d kept", g, gen0)
			}
			// One more change: still refused (from a full rescan, which sees the deletions).
			writeTestFile(t, filepath.Join(dir, "f09"), "changed")
			fw.ch <- watch.Batch{Changes: []watch.Change{{Rel: "f09"}}}
			eventually(t, "the guard again", func() bool { return s.Stats().ShrinkRefusals == 2 })
			// The files come back: published again.
			for i := range 6 {
				writeTestFile(t, filepath.Join(dir, fmt.Sprintf("f%02d", i)), fmt.Sprint("content ", i))
			}
			fw.ch <- watch.Batch{Rescan: true}
			eventually(t, "a generation once the files are back", func() bool { return s.Stats().Generation == gen0+1 })
		})
	}
}

// TestLiveHoldsManifestWhilePending: with changes seen but not indexed yet, a manifest
// request waits for them (at most liveHoldMax), so it never gets the stale generation.
func TestLiveHoldsManifestWhilePending(t *testing.T) {
	fw := &fakeWatch{ch: make(chan watch.Batch)}
	s, fn, dir := liveRig(t, 2, fw, false)
	gen0 := s.Stats().Generation
	fw.pending.Store(true)
	writeTestFile(t, filepath.Join(dir, "late"), "written just before the fetch")
	fn.join(1)
	time.Sleep(200 * time.Millisecond)
	if n := len(fn.manifestSent()); n != 0 {
		t.Fatalf("%d manifest datagrams sent while changes were pending", n)
	}
	fw.pending.Store(false)
	fw.ch <- watch.Batch{Changes: []watch.Change{{Rel: "late"}}}
	eventually(t, "the manifest", func() bool { return len(fn.manifestSent()) > 0 })
	for _, g := range fn.manifestSent() {
		if g != gen0+1 {
			t.Fatalf("manifest sent at generation %d, want %d", g, gen0+1)
		}
	}
	// A file that never settles holds requests liveHoldMax at most. (First let the pushes
	// of the last generation end.)
	time.Sleep(pushRepeats[len(pushRepeats)-1] + 200*time.Millisecond)
	fw.pending.Store(true)
	before := len(fn.manifestSent())
	start := time.Now()
	fn.join(2)
	eventually(t, "the manifest despite pending changes", func() bool { return len(fn.manifestSent()) > before })
	if d := time.Since(start); d < liveHoldMax-50*time.Millisecond || d > liveHoldMax+time.Second {
		t.Errorf("held %v, want about %v", d, liveHoldMax)
	}
}

// TestFetchRightAfterWalkIsFresh: without --watch, a manifest request arriving right after a
// walk (within RefreshMin) is held for a new walk instead of getting the old manifest, so a
// file written just before it is in the manifest it gets.
func TestFetchRightAfterWalkIsFresh(t *testing.T) {
	s, fn, dir := liveRig(t, 2, nil, false)
	gen0 := s.Stats().Generation
	fn.join(1)
	eventually(t, "the first manifest", func() bool { return len(fn.manifestSent()) > 0 })
	writeTestFile(t, filepath.Join(dir, "late"), "written just before the second fetch")
	before := len(fn.manifestSent())
	fn.join(2)
	eventually(t, "the second manifest", func() bool { return len(fn.manifestSent()) > before })
	sent := fn.manifestSent()
	for _, g := range sent[before:] {
		if g != gen0+1 {
			t.Fatalf("second fetch got generation %d, want %d (the one with the new file)", g, gen0+1)
		}
	}
}

// TestPollingWatchRescansOnRequest: with a polling watcher, which has not seen a write yet,
// a manifest request gets a rescan first, so it is not answered with the stale generation.
func TestPollingWatchRescansOnRequest(t *testing.T) {
	fw := &fakeWatch{ch: make(chan watch.Batch), polls: true}
	s, fn, dir := liveRig(t, 2, fw, false)
	gen0 := s.Stats().Generation
	for i := range 3 {
		time.Sleep(pushRepeats[len(pushRepeats)-1] + 100*time.Millisecond) // the last pushes are over
		writeTestFile(t, filepath.Join(dir, fmt.Sprint("new", i)), "not polled yet")
		before := len(fn.manifestSent())
		fn.join(byte(i + 1))
		eventually(t, "the manifest", func() bool { return len(fn.manifestSent()) > before })
		for _, g := range fn.manifestSent()[before:] {
			if g != gen0+uint64(i)+1 {
				t.Fatalf("request %d got generation %d, want %d", i, g, gen0+uint64(i)+1)
			}
		}
	}
}

// TestCarouselWatchRescansPeriodically: in carousel mode with a watcher, the periodic walk of
// carousel mode is a rescan every RefreshInterval, not one per loop of the sender.
func TestCarouselWatchRescansPeriodically(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "share")
	writeTestFile(t, filepath.Join(dir, "f"), "x")
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	fw := &fakeWatch{ch: make(chan watch.Batch)}
	s, err := New(Config{Index: ix, Transport: nullNet{}, Carousel: true, Watch: fw, RefreshInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Rescans; n < 2 || n > 4 {
		t.Errorf("%d rescans in a second with RefreshInterval 300ms, want 2 to 4", n)
	}
}

// TestManifestRefreshFromNewHost: a current-state report (an answer to a query) for the
// manifest channel from a host this sender has not heard before is answered as a join: the
// host joined before the server (re)started and has not seen its generation. Further
// refreshes from that host do not resend the manifest.
func TestManifestRefreshFromNewHost(t *testing.T) {
	s, fn, _ := liveRig(t, 4, nil, false)
	refresh := func(h byte) { fn.report(mld.Event{Ifindex: 1, Group: fn.manifest, Source: host(h), Refresh: true}) }
	refresh(7)
	eventually(t, "the manifest for a host first heard in a refresh", func() bool { return len(fn.manifestSent()) > 0 })
	eventually(t, "the manifest's cycle to end", func() bool { return s.Stats().Active == 0 })
	sent := len(fn.manifestSent())
	refresh(7)
	time.Sleep(300 * time.Millisecond)
	if n := len(fn.manifestSent()); n != sent {
		t.Errorf("a second refresh from the same host sent the manifest again (%d datagrams more)", n-sent)
	}
}
