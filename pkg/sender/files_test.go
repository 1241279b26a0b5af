package sender

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// recordNet records every datagram sent.
type recordNet struct {
	nullNet
	mu   sync.Mutex
	sent [][]byte
}

func (r *recordNet) Send(_ int, ds []mcast.Datagram) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range ds {
		r.sent = append(r.sent, bytes.Clone(d.Payload))
	}
	return len(ds), nil
}

func (r *recordNet) Ifaces() []net.Interface { return nullNet{}.Ifaces() }

// TestSymlinkSwapNeverServed: a local user who can write into the share replaces an indexed
// file by a symlink to a file outside it with the same size and modification time, then
// joins the file's data channel. Not one byte of the outside file may be sent.
func TestSymlinkSwapNeverServed(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "share")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte("SHADOW:"), 3000)
	outside := filepath.Join(dir, "shadow")
	x := filepath.Join(src, "x")
	if err := os.WriteFile(outside, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(x, bytes.Repeat([]byte{'x'}, len(secret)), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(outside)
	if err := os.Chtimes(x, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	ix, err := index.Build(context.Background(), src, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordNet{}
	s, err := New(Config{Index: ix, Transport: rec, Trigger: nullNet{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, x+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(x+".tmp", x); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := actKey{1, mcast.DataGroup(s.cfg.Scope, ix.Files[0].Tree.Top())}
	s.cfg.Gather = 0 // start at once
	s.activate(key, host(1), time.Now(), false)
	for range 50 {
		s.round(ctx)
		if err := s.flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	s.workers.Wait() // the re-index the failed read started
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, d := range rec.sent {
		if bytes.Contains(d, []byte("SHADOW")) {
			t.Fatal("a datagram carried bytes of the file outside the share")
		}
	}
	if len(rec.sent) == 0 {
		t.Fatal("the channel sent nothing at all")
	}
	t.Logf("%d datagrams sent, none from outside the share", len(rec.sent))
}
