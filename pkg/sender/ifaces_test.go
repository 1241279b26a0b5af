package sender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// ifaceNet is a Transport whose interfaces come and go: a removed interface fails sends with
// mcast.ErrInterfaceGone, a broken one with another error. It counts send calls per interface.
type ifaceNet struct {
	mu     sync.Mutex
	ifaces []net.Interface
	broken map[int]bool
	calls  map[int]int // Send calls, failed ones included
	sent   map[int]int // datagrams sent
}

func newIfaceNet(idx ...int) *ifaceNet {
	n := &ifaceNet{broken: map[int]bool{}, calls: map[int]int{}, sent: map[int]int{}}
	for _, i := range idx {
		n.add(i)
	}
	return n
}

func (n *ifaceNet) add(idx int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ifaces = append(n.ifaces, net.Interface{Index: idx, Name: fmt.Sprintf("if%d", idx)})
}

func (n *ifaceNet) remove(idx int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, ifi := range n.ifaces {
		if ifi.Index == idx {
			n.ifaces = append(n.ifaces[:i], n.ifaces[i+1:]...)
			return
		}
	}
}

func (n *ifaceNet) setBroken(idx int, b bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.broken[idx] = b
}

func (n *ifaceNet) Ifaces() []net.Interface {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]net.Interface(nil), n.ifaces...)
}

func (n *ifaceNet) Send(idx int, ds []mcast.Datagram) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls[idx]++
	known := false
	for _, ifi := range n.ifaces {
		known = known || ifi.Index == idx
	}
	switch {
	case !known:
		return 0, fmt.Errorf("send on if%d: %w", idx, mcast.ErrInterfaceGone)
	case n.broken[idx]:
		return 0, errors.New("send: network is down")
	}
	n.sent[idx] += len(ds)
	return len(ds), nil
}

// counts returns the send calls and datagrams of interface idx.
func (n *ifaceNet) counts(idx int) (calls, sent int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[idx], n.sent[idx]
}

// carouselOn starts a carousel sender on tr, logging into the returned buffer.
func carouselOn(t *testing.T, tr Transport) (*Sender, *syncLog, func()) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), bytes.Repeat([]byte("x"), 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	log := &syncLog{}
	s, err := New(Config{Index: ix, Transport: tr, Carousel: true, Rate: 20e6,
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return s, log, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// syncLog is a log sink safe for the sender's goroutine and the test's.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

// TestCarouselFollowsIfaces: the carousel starts on an interface added at run time, and an
// interface removed from the transport stops being sent on after at most one failed send,
// quietly, while the other goes on.
func TestCarouselFollowsIfaces(t *testing.T) {
	tr := newIfaceNet(1)
	s, log, stop := carouselOn(t, tr)
	defer stop()
	waitFor(t, "sending on if1", func() bool { _, n := tr.counts(1); return n > 0 })

	tr.add(2)
	s.IfacesChanged()
	waitFor(t, "sending on the added if2", func() bool { _, n := tr.counts(2); return n > 0 })

	// Removed from the transport before the sender is told, as when a send races the removal.
	tr.remove(1)
	time.Sleep(100 * time.Millisecond)
	s.IfacesChanged()
	time.Sleep(50 * time.Millisecond)
	calls1, _ := tr.counts(1)
	_, sent2 := tr.counts(2)
	time.Sleep(300 * time.Millisecond)
	if c, _ := tr.counts(1); c != calls1 {
		t.Errorf("%d more sends tried on the removed interface", c-calls1)
	}
	if _, n := tr.counts(2); n <= sent2 {
		t.Error("if2 stopped when if1 was removed")
	}
	if st := s.Stats(); st.SendErrors != 0 {
		t.Errorf("%d send errors counted for a removed interface", st.SendErrors)
	}
	if strings.Contains(log.String(), "level=WARN") {
		t.Errorf("warnings for a removed interface:\n%s", log)
	}
	// Back again: the carousel starts there anew.
	tr.add(1)
	s.IfacesChanged()
	waitFor(t, "sending on if1 again", func() bool { _, n := tr.counts(1); return n > 0 })
}

// TestSendFailuresLoggedOnce: an interface that fails every send is logged once, not per
// send, and once more when it works again; the other interface is not disturbed.
func TestSendFailuresLoggedOnce(t *testing.T) {
	tr := newIfaceNet(1, 2)
	tr.setBroken(2, true)
	s, log, stop := carouselOn(t, tr)
	defer stop()
	waitFor(t, "many failed sends on if2", func() bool { c, _ := tr.counts(2); return c >= 50 })
	if n := strings.Count(log.String(), "send failed"); n != 1 {
		t.Errorf("%d 'send failed' lines after %d failed sends, want 1:\n%s", n, s.Stats().SendErrors, log)
	}
	if _, n := tr.counts(1); n == 0 {
		t.Error("if1 sent nothing beside the broken if2")
	}
	tr.setBroken(2, false)
	waitFor(t, "if2 recovers", func() bool { return strings.Contains(log.String(), "sending again") })
	tr.setBroken(2, true)
	waitFor(t, "if2 fails again", func() bool { return strings.Count(log.String(), "send failed") == 2 })
}

// TestListenersCounted: Stats.Listeners counts the distinct hosts that asked for the share's
// channels on each interface; a leave does not make a host unseen.
func TestListenersCounted(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	n := newFakeNet()
	s, err := New(Config{Index: ix, Transport: n, Trigger: n})
	if err != nil {
		t.Fatal(err)
	}
	n.s = s
	_, n.manifest = s.Groups()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	hosts := func() int {
		for _, l := range s.Stats().Listeners {
			if l.Ifindex == 1 && l.Name == "fake0" {
				return l.Hosts
			}
		}
		return -1
	}
	n.join(1)
	time.Sleep(100 * time.Millisecond) // host 2 comes after the first count: recounted later
	n.join(2)
	n.join(2)
	waitFor(t, "two hosts counted", func() bool { return hosts() == 2 })
	n.leave(1)
	n.join(3)
	time.Sleep(listenersEvery) // the count is refreshed at most once a second
	n.join(3)
	waitFor(t, "a third host", func() bool { return hosts() == 3 })
	s.IfacesChanged() // nothing changed: the hosts stay
	time.Sleep(50 * time.Millisecond)
	if h := hosts(); h != 3 {
		t.Errorf("%d hosts after a no-op interface change", h)
	}
}
