package sender_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/sender"
	"go.uber.org/goleak"
)

// These tests measure what the sender puts on the link for real receivers on an in-memory
// link (pkg/mcast/mcasttest), in 1 KiB blocks.

// serveShare indexes dir and runs an MLD-mode sender at rate bits per second (0: unlimited)
// on n until the test ends.
func serveShare(t *testing.T, n *mcasttest.Net, dir string, rate float64) *sender.Sender {
	t.Helper()
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sender.New(sender.Config{Index: ix, Transport: n, Trigger: n, Rate: rate})
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

// fetchShare fetches name into dst through c.
func fetchShare(t *testing.T, c *mcasttest.Conn, name, dst string, mod func(*receiver.Config)) receiver.Stats {
	t.Helper()
	cfg := receiver.Config{Name: name, Dest: dst, Transport: c, IdleTimeout: 10 * time.Second,
		Retrigger: 100 * time.Millisecond, RejoinAfter: 300 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := receiver.Fetch(ctx, cfg)
	if err != nil {
		t.Errorf("fetch %s: %v (stats %+v)", name, err, st)
	}
	return st
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func putFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	x, errA := os.ReadFile(a)
	y, errB := os.ReadFile(b)
	if errA != nil || errB != nil || !bytes.Equal(x, y) {
		t.Errorf("%s and %s differ (%d and %d bytes; %v, %v)", a, b, len(x), len(y), errA, errB)
	}
}

// TestSenderSendsAboutOneCycle: with receivers that join together and leave when done, the
// sender puts each block on the link about once, whatever the number of receivers.
func TestSenderSendsAboutOneCycle(t *testing.T) {
	for _, receivers := range []int{1, 4} {
		n := mcasttest.NewNet()
		src := filepath.Join(t.TempDir(), "share")
		const blocks = 600
		putFile(t, filepath.Join(src, "f"), randomBytes(blocks*1024))
		// ~0.6 s per cycle, so the receivers overlap even when a busy machine (the race
		// detector, the other packages' tests) starts their goroutines apart.
		snd := serveShare(t, n, src, 8e6)
		var wg sync.WaitGroup
		for range receivers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dst := filepath.Join(t.TempDir(), "f")
				fetchShare(t, n.Conn(0), "share/f", dst, nil)
				sameFiles(t, filepath.Join(src, "f"), dst)
			}()
		}
		wg.Wait()
		time.Sleep(100 * time.Millisecond) // let the sender notice the leaves
		st := snd.Stats()
		// One cycle: the leaf hashes (600/44 packets), 600 block packets, a few manifest chunks.
		if st.BlockPackets > 2*blocks {
			t.Errorf("%d receivers: sent %d block packets for %d blocks (stats %+v)", receivers, st.BlockPackets, blocks, st)
		}
		t.Logf("%d receivers: %d block packets, %d fast leaves, %d dup joins", receivers, st.BlockPackets, st.FastLeaves, st.DupJoins)
	}
}

// TestDeltaSharedByReceivers: receivers holding the same outdated copy walk the same pages and
// fetch the same blocks at about the same time; the sender's gather window makes them share
// the sends, so the changed blocks go out about once, not once per receiver.
func TestDeltaSharedByReceivers(t *testing.T) {
	// Sharing depends on the receivers hashing their copies at about the same time; a busy
	// machine (the race detector, other packages' tests) can spread them beyond the gather
	// windows now and then, so the property must hold in one of three tries.
	const tries = 3
	for try := 1; ; try++ {
		packets, changed := deltaSharedOnce(t)
		if packets <= uint64(2*changed) {
			return
		}
		if try == tries {
			t.Fatalf("%d block packets for %d changed blocks shared by 4 receivers, in each of %d tries", packets, changed, tries)
		}
		t.Logf("try %d: %d block packets for %d changed blocks; again", try, packets, changed)
	}
}

// deltaSharedOnce fetches a file with 6 changed blocks into 4 receivers at once and returns
// the block packets the sender sent.
func deltaSharedOnce(t *testing.T) (packets uint64, changedBlocks int) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randomBytes(2000 * 1024)
	putFile(t, filepath.Join(src, "f"), data)
	snd := serveShare(t, n, src, 0)
	old := append([]byte(nil), data...)
	changed := []int{5, 300, 301, 777, 1500, 1999}
	for _, b := range changed {
		old[b*1024] ^= 0xff
	}
	var dsts []string
	for range 4 {
		dst := filepath.Join(t.TempDir(), "f")
		putFile(t, dst, old)
		dsts = append(dsts, dst)
	}
	var wg sync.WaitGroup
	for _, dst := range dsts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := fetchShare(t, n.Conn(0), "share/f", dst, nil)
			if st.Needed != int64(len(changed)) {
				t.Errorf("needed %d blocks, want %d", st.Needed, len(changed))
			}
		}()
	}
	wg.Wait()
	for _, dst := range dsts {
		sameFiles(t, filepath.Join(src, "f"), dst)
	}
	st := snd.Stats()
	t.Logf("4 receivers, %d changed blocks: %d block packets, %d tree packets, %d activations", len(changed), st.BlockPackets, st.TreePackets, st.Activations)
	return st.BlockPackets, len(changed)
}

// TestMain fails the package's tests if a goroutine outlives them: Run must stop everything it
// started (the index refresh included) before it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
