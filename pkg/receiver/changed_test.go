package receiver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
)

// replaceMidFetch serves a 2 MiB file at about 1 MB/s and, once a quarter of it has arrived,
// replaces it with other content and has the sender re-index (a SIGHUP): the groups of the
// old version stop being served (review M10). It returns the fetch's stats, how long it
// took, the new content, and the fetch's error.
func replaceMidFetch(t *testing.T, mod func(*receiver.Config, *mcasttest.Net)) (receiver.Stats, time.Duration, []byte, error) {
	t.Helper()
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	const size = 2048 * 1024
	writeFile(t, filepath.Join(src, "f"), randBytes(t, size))
	snd := serveWith(t, n, src, serveOpts{rate: 8e6})
	next := randBytes(t, size)
	var once sync.Once
	cfg := receiver.Config{Name: "share/f", Dest: filepath.Join(t.TempDir(), "f"), Transport: n.Conn(0),
		IdleTimeout: 20 * time.Second, Retrigger: 100 * time.Millisecond, RejoinAfter: 300 * time.Millisecond,
		OnProgress: func(p receiver.Progress) {
			if p.BytesDone < size/4 {
				return
			}
			once.Do(func() {
				tmp := filepath.Join(src, ".f.new")
				writeFile(t, tmp, next)
				if err := os.Rename(tmp, filepath.Join(src, "f")); err != nil {
					t.Error(err)
				}
				snd.Reindex()
			})
		}}
	if mod != nil {
		mod(&cfg, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	st, err := receiver.Fetch(ctx, cfg)
	return st, time.Since(start), next, err
}

// TestFetchFollowsAReplacedFile: a file replaced on the server mid-fetch is fetched in its
// new version, promptly (well before the idle timeout), when the fetch may listen again.
func TestFetchFollowsAReplacedFile(t *testing.T) {
	var dst string
	st, took, next, err := replaceMidFetch(t, func(c *receiver.Config, n *mcasttest.Net) {
		dst = c.Dest
		c.Listen = func() (receiver.Transport, error) { return n.Conn(0), nil }
	})
	if err != nil {
		t.Fatalf("fetch after %v: %v (stats %+v)", took, err, st)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(next) {
		t.Fatal("the fetch did not end with the new version of the file")
	}
	if took > 15*time.Second { // 4.8 s alone, 9.4 s seen under a loaded suite
		t.Errorf("took %v (idle timeout 20s)", took)
	}
	t.Logf("%v: stats %+v", took, st)
}

// TestFetchReportsAReplacedFile: without a way to listen again, the fetch fails promptly
// with ErrChanged, not with a timeout that says nothing useful arrived, and leaves no
// temporary file.
func TestFetchReportsAReplacedFile(t *testing.T) {
	var dst string
	_, took, _, err := replaceMidFetch(t, func(c *receiver.Config, _ *mcasttest.Net) { dst = c.Dest })
	if !errors.Is(err, receiver.ErrChanged) {
		t.Fatalf("fetch after %v: %v, want ErrChanged", took, err)
	}
	if took > 15*time.Second {
		t.Errorf("took %v to notice (idle timeout 20s)", took)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".f.lcsync-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	t.Logf("%v: %v", took, err)
}
