package receiver_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestWatchFetchesChangedObjectsOnly: a follower walks the share's tree objects once, then,
// after a one-file change, fetches only the objects of the directories from the file to the
// root; one that follows (or a fetch of) a directory fetches only the objects on the way to it
// and below it.
func TestWatchFetchesChangedObjectsOnly(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	for d := range 6 {
		for f := range 3 {
			writeFile(t, filepath.Join(src, fmt.Sprintf("d%d/e/f%d", d, f)), randBytes(t, 100))
		}
	}
	s := serve(t, n, src, false) // 13 objects: the share, d0..d5, d0/e..d5/e

	watch := func(name string) (<-chan *wire.Manifest, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		found := make(chan *wire.Manifest, 8)
		done := make(chan error, 1)
		go func() {
			done <- receiver.WatchManifests(ctx, receiver.Config{Name: name, Transport: n.Conn(0)}, 0, 150*time.Millisecond,
				func(f receiver.Found) { found <- f.Manifest })
		}()
		return found, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("WatchManifests: %v", err)
			}
		}
	}
	wait := func(found <-chan *wire.Manifest) *wire.Manifest {
		t.Helper()
		select {
		case m := <-found:
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no manifest found within 10s")
			return nil
		}
	}
	objects := func() uint64 { return s.Stats().ObjectPackets }

	found, stop := watch("share/")
	before := objects()
	m1 := wait(found)
	if len(m1.Entries) != 1+6*2+6*3 {
		t.Fatalf("first generation: %d entries", len(m1.Entries))
	}
	first := objects() - before
	if first < 13 {
		t.Fatalf("the first walk took %d object datagrams for 13 objects", first)
	}

	writeFile(t, filepath.Join(src, "d3/e/f1"), randBytes(t, 200))
	before = objects()
	s.Reindex() // no push: the rejoin safety net finds it
	m2 := wait(found)
	if e, ok := m2.Lookup("share/d3/e/f1"); !ok || e.Size != 200 {
		t.Fatalf("second generation: share/d3/e/f1 is %+v, %v", e, ok)
	}
	if changed := objects() - before; changed != 3 {
		t.Errorf("a one-file change cost %d object datagrams, want 3 (d3/e, d3 and the share)", changed)
	}
	stop()

	found, stop = watch("share/d4/")
	before = objects()
	m := wait(found)
	stop()
	if len(m.Entries) != 1+2+3 {
		t.Errorf("following share/d4: %d entries (%v)", len(m.Entries), m.Entries)
	}
	if got := objects() - before; got != 3 {
		t.Errorf("following share/d4 took %d object datagrams, want 3 (the share, d4, d4/e)", got)
	}

	// A fetch of a directory walks the same way.
	dst := filepath.Join(t.TempDir(), "d5")
	before = objects()
	fetch(t, n.Conn(0), "share/d5/", dst, nil)
	sameFile(t, filepath.Join(src, "d5/e/f2"), filepath.Join(dst, "e/f2"))
	if got := objects() - before; got != 3 {
		t.Errorf("fetching share/d5 took %d object datagrams, want 3 (the share, d5, d5/e)", got)
	}
}

// TestMeasureOneFileChange (LCSYNC_MEASURE=1 only) measures what a follower of a share of
// 10,000 files (100 to a directory, two levels of directories) costs the sender on the wire
// for a one-file change: manifest and object datagrams, from the sender's counters.
func TestMeasureOneFileChange(t *testing.T) {
	if os.Getenv("LCSYNC_MEASURE") == "" {
		t.Skip("a measurement: set LCSYNC_MEASURE=1")
	}
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "src")
	for i := range 10000 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("d%d/e%d/f%03d.dat", i/1000, i/100%10, i%100)), randBytes(t, 64))
	}
	s := serve(t, n, src, false)
	ctx, cancel := context.WithCancel(context.Background())
	found := make(chan *wire.Manifest, 8)
	done := make(chan error, 1)
	go func() {
		done <- receiver.WatchManifests(ctx, receiver.Config{Name: "src/", Transport: n.Conn(0)}, 0, 150*time.Millisecond,
			func(f receiver.Found) { found <- f.Manifest })
	}()
	defer func() { cancel(); <-done }()
	<-found
	time.Sleep(time.Second) // the rejoins' repeats of the first generation settle
	before := s.Stats()
	writeFile(t, filepath.Join(src, "d4/e2/f042.dat"), randBytes(t, 65))
	s.Reindex()
	select {
	case <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("no second generation")
	}
	after := s.Stats()
	t.Logf("one file changed among 10,000: manifest datagrams %d, object datagrams %d, all datagrams %d, %d bytes (IPv6+UDP included); manifest %d bytes",
		after.ManifestPackets-before.ManifestPackets, after.ObjectPackets-before.ObjectPackets,
		after.Datagrams-before.Datagrams, after.Bytes-before.Bytes, after.ManifestBytes)
}

// TestFetchFromPagedDirectory fetches one file of a directory large enough to be paged: only
// the page that holds its name is fetched, not the directory's whole listing.
func TestFetchFromPagedDirectory(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	for i := range 2500 {
		writeFile(t, filepath.Join(src, "big", fmt.Sprintf("a-file-with-a-rather-long-name-%05d", i)), []byte{byte(i)})
	}
	s := serve(t, n, src, false)
	dst := filepath.Join(t.TempDir(), "one")
	before := s.Stats().ObjectPackets
	fetch(t, n.Conn(0), "share/big/a-file-with-a-rather-long-name-01234", dst, nil)
	sameFile(t, filepath.Join(src, "big/a-file-with-a-rather-long-name-01234"), dst)
	// The share's object, big's list of pages (one datagram each) and one page of about
	// 512 entries of 100 bytes (about 40 datagrams); the whole listing is about 180.
	if got := s.Stats().ObjectPackets - before; got > 60 {
		t.Errorf("fetching one file of a paged directory took %d object datagrams", got)
	}
}
