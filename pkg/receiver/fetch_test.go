package receiver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/sender"
)

// serve indexes dir and runs a sender on the fake link until the test ends.
func serve(t *testing.T, n *fakeNet, dir string, carousel bool) *sender.Sender {
	t.Helper()
	return serveRate(t, n, dir, carousel, 0)
}

// serveRate is serve with a send rate in bits per second (0: unlimited).
func serveRate(t *testing.T, n *fakeNet, dir string, carousel bool, rate float64) *sender.Sender {
	t.Helper()
	return serveBlocks(t, n, dir, carousel, rate, 1024)
}

// serveBlocks is serveRate with a block size.
func serveBlocks(t *testing.T, n *fakeNet, dir string, carousel bool, rate float64, bs int) *sender.Sender {
	t.Helper()
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: bs})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sender.Config{Index: ix, Transport: n, Carousel: carousel, Rate: rate}
	if !carousel {
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

func TestFetchSizes(t *testing.T) {
	for _, carousel := range []bool{false, true} {
		n := newFakeNet()
		src := filepath.Join(t.TempDir(), "share")
		sizes := []int{0, 1, 1023, 1024, 1025, 2048 + 5, 3*1024 + 7, 9*1024 - 1, 200*1024 + 3}
		for _, sz := range sizes {
			writeFile(t, filepath.Join(src, "f", itoa(sz)), randBytes(t, sz))
		}
		serve(t, n, src, carousel)
		dst := t.TempDir()
		for _, sz := range sizes {
			name := "share/f/" + itoa(sz)
			st := fetch(t, n.receiver(0), name, dst+"/", nil)
			sameFile(t, filepath.Join(src, "f", itoa(sz)), filepath.Join(dst, itoa(sz)))
			if st.Corrupt != 0 || st.Malformed != 0 {
				t.Errorf("carousel=%v size %d: stats %+v", carousel, sz, st)
			}
		}
	}
}

func itoa(n int) string { return fmtInt(n) }
