package receiver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/sender"
	"go.uber.org/goleak"
)

// serve indexes dir and runs a sender on the fake link until the test ends.
func serve(t *testing.T, n *mcasttest.Net, dir string, carousel bool) *sender.Sender {
	t.Helper()
	return serveWith(t, n, dir, serveOpts{carousel: carousel})
}

// serveOpts are the less common settings of a test's sender.
type serveOpts struct {
	carousel bool
	rate     float64 // bits per second; 0: unlimited
	bs       int     // block size; 0: 1024
	signer   sender.Signer
	resident int // index.Options.MaxResident; 0: the default
}

// serveWith is serve with options.
func serveWith(t *testing.T, n *mcasttest.Net, dir string, o serveOpts) *sender.Sender {
	t.Helper()
	if o.bs == 0 {
		o.bs = 1024
	}
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: o.bs, MaxResident: o.resident})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sender.Config{Index: ix, Transport: n, Carousel: o.carousel, Rate: o.rate, Signer: o.signer}
	if !o.carousel {
		cfg.Trigger = n
	}
	s, err := sender.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sender: %v", err)
		}
	})
	return s
}

func fetch(t *testing.T, r receiver.Transport, name, dst string, mod func(*receiver.Config)) receiver.Stats {
	t.Helper()
	cfg := receiver.Config{Name: name, Dest: dst, Transport: r, IdleTimeout: 10 * time.Second,
		Retrigger: 100 * time.Millisecond, RejoinAfter: 300 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := receiver.Fetch(ctx, cfg)
	if err != nil {
		t.Fatalf("fetch %s: %v (stats %+v)", name, err, st)
	}
	return st
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Fatalf("%s and %s differ (%d and %d bytes)", a, b, len(x), len(y))
	}
}

func makeTree(t *testing.T, root string) {
	writeFile(t, filepath.Join(root, "a.txt"), []byte("hello\n"))
	writeFile(t, filepath.Join(root, "sub", "b.bin"), randBytes(t, 5000))
	writeFile(t, filepath.Join(root, "sub", "deeper", "c.bin"), randBytes(t, 40000))
	writeFile(t, filepath.Join(root, "sub", "same1"), []byte(strings.Repeat("x", 3000)))
	writeFile(t, filepath.Join(root, "sub", "same2"), []byte(strings.Repeat("x", 3000)))
	writeFile(t, filepath.Join(root, "empty"), nil)
	if err := os.MkdirAll(filepath.Join(root, "emptydir", "nested"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/b.bin", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "outside")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "sub", "b.bin"), 0o751); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "a.txt"), mt, mt); err != nil {
		t.Fatal(err)
	}
}

// listing describes a tree: type, mode (when perms), size, content and link targets.
func listing(t *testing.T, root string) []string {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, _ := d.Info()
		line := rel + " " + fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += " " + string(rune(len(b))) + " " + strconv.Itoa(len(b)) + " " + strconv.Itoa(int(crc(b)))
			if rel == "a.txt" {
				line += " " + fi.ModTime().UTC().String()
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func crc(b []byte) uint32 {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// TestMain fails the package's tests if a goroutine outlives them: Fetch starts a reader,
// workers, a copier and check pools, and must stop them all before it returns (the senders
// the tests run stop in their cleanups).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
