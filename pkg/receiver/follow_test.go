package receiver_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestWatchManifests follows a share across generations: the first manifest is found at
// once, one not newer than the floor is dropped, a new generation is caught by the rejoin
// safety net (Reindex does not push), and a fetch given the vetted manifest applies it
// without asking for the manifest again.
func TestWatchManifests(t *testing.T) {
	n := mcasttest.NewNet()
	src, dst := filepath.Join(t.TempDir(), "share"), t.TempDir()
	writeFile(t, filepath.Join(src, "a"), randBytes(t, 5000))
	s := serve(t, n, src, false)

	ctx, cancel := context.WithCancel(context.Background())
	found := make(chan *wire.Manifest, 8)
	done := make(chan error, 1)
	go func() {
		done <- receiver.WatchManifests(ctx, receiver.Config{Name: "share/", Transport: n.Conn(0)}, 0,
			150*time.Millisecond, func(f receiver.Found) {
				if f.Arrived.IsZero() || !f.Issued.IsZero() || !f.Published().Equal(f.Arrived) {
					t.Errorf("an unsigned manifest found: arrived %v, issued %v, published %v", f.Arrived, f.Issued, f.Published())
				}
				found <- f.Manifest
			})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchManifests: %v", err)
		}
	}()
	wait := func(what string) *wire.Manifest {
		t.Helper()
		select {
		case m := <-found:
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("no manifest found within 10s (%s)", what)
			return nil
		}
	}
	m1 := wait("first")
	share := m1.Share
	fetch(t, n.Conn(0), share+"/", dst, func(c *receiver.Config) { c.Manifest = m1 })
	sameFile(t, filepath.Join(src, "a"), filepath.Join(dst, "a"))

	// Rejoins repeat generation m1: nothing more may be found until the share changes.
	select {
	case m := <-found:
		t.Fatalf("found generation %d again (the first was %d)", m.Generation, m1.Generation)
	case <-time.After(500 * time.Millisecond):
	}

	writeFile(t, filepath.Join(src, "b"), randBytes(t, 3000))
	if err := os.Remove(filepath.Join(src, "a")); err != nil {
		t.Fatal(err)
	}
	s.Reindex()
	m2 := wait("after the change")
	if m2.Generation <= m1.Generation {
		t.Fatalf("generation %d found after %d", m2.Generation, m1.Generation)
	}
	st := fetch(t, n.Conn(0), share+"/", dst, func(c *receiver.Config) { c.Manifest = m2; c.Delete = true })
	sameFile(t, filepath.Join(src, "b"), filepath.Join(dst, "b"))
	if _, err := os.Lstat(filepath.Join(dst, "a")); !os.IsNotExist(err) {
		t.Errorf("a was not deleted: %v", err)
	}
	if st.Deleted != 1 {
		t.Errorf("stats: %d deleted, want 1", st.Deleted)
	}
}

// TestFetchGivenManifestOfAnotherShare refuses a Config.Manifest that names another share.
func TestFetchGivenManifestOfAnotherShare(t *testing.T) {
	n := mcasttest.NewNet()
	_, err := receiver.Fetch(context.Background(), receiver.Config{Name: "share/", Dest: t.TempDir(), Transport: n.Conn(0),
		Manifest: &wire.Manifest{Share: "other"}})
	if err == nil {
		t.Fatal("a manifest of share other was used for share")
	}
}
