package mld

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMsg is one message delivered by fakeConn.
type fakeMsg struct {
	b       []byte
	ifindex int
	src     netip.Addr
	hop     int
	err     error
}

type fakeSent struct {
	ifindex  int
	src, dst netip.Addr
	q        Query
}

// fakeConn is an in-memory packetConn.
type fakeConn struct {
	in      chan fakeMsg
	closed  chan struct{}
	once    sync.Once
	mu      sync.Mutex
	sent    []fakeSent
	linkOps []string // "+N" for AddLink, "-N" for RemoveLink
}

func newFakeConn() *fakeConn {
	return &fakeConn{in: make(chan fakeMsg, 16), closed: make(chan struct{})}
}

func (c *fakeConn) ReadPacket(b []byte) (int, int, error) {
	select {
	case m := <-c.in:
		if m.err != nil {
			return 0, 0, m.err
		}
		h := arrival(m.ifindex, m.src, m.b)
		h.HopLimit = m.hop
		return copy(b, buildPacket(h, m.b)), m.ifindex, nil
	case <-c.closed:
		return 0, 0, fmt.Errorf("read: %w", net.ErrClosed)
	}
}

// ReadLocal delivers nothing: the fake host sends no MLD of its own.
func (c *fakeConn) ReadLocal([]byte) (int, Header, error) {
	<-c.closed
	return 0, Header{}, fmt.Errorf("read: %w", net.ErrClosed)
}

func (c *fakeConn) SendQuery(ifindex int, src, dst netip.Addr, b []byte) error {
	q, err := ParseQuery(b)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, fakeSent{ifindex, src, dst, q})
	return nil
}

// AddLink and RemoveLink record the links added and removed.
func (c *fakeConn) AddLink(l Link) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.linkOps = append(c.linkOps, fmt.Sprintf("+%d", l.Index))
	return nil
}

func (c *fakeConn) RemoveLink(l Link) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.linkOps = append(c.linkOps, fmt.Sprintf("-%d", l.Index))
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *fakeConn) sentTo(dst netip.Addr) []fakeSent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []fakeSent
	for _, s := range c.sent {
		if s.dst == dst {
			out = append(out, s)
		}
	}
	return out
}

// runListener starts a Listener on a fake connection and clock; the returned stop function
// cancels it and checks that Run returned nil and closed the connection.
func runListener(t *testing.T, cfg Config) (*Listener, *fakeConn, *fakeClock, func()) {
	t.Helper()
	clk := newFakeClock()
	cfg.Clock = clk
	conn := newFakeConn()
	l, err := newListener(cfg, []Link{{Index: 1, Name: "eth0", Addr: ourAddr}}, conn)
	if err != nil {
		t.Fatal(err)
	}
	run := startRun(t, l)
	stop := func() {
		if run() {
			select {
			case <-conn.closed:
			default:
				t.Error("Run did not close the connection")
			}
		}
	}
	t.Cleanup(stop)
	return l, conn, clk, stop
}

// startRun runs l until the returned stop function is called (the first call cancels Run and
// waits for it, reporting true; later calls do nothing and report false).
func startRun(t testing.TB, l *Listener) (stop func() bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stopped := false
	return func() bool {
		if stopped {
			return false
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return within 10 s of cancel")
		}
		return true
	}
}

// eventually polls cond until it holds, failing after a generous real-time bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestListenerJoinLeave(t *testing.T) {
	l, conn, clk, _ := runListener(t, testConfig())
	g := addr("ff15::6c63:1")
	eventually(t, "startup general query", func() bool { return len(conn.sentTo(allNodes())) == 1 })
	if s := conn.sentTo(allNodes())[0]; s.src != ourAddr || s.ifindex != 1 || !s.q.General() {
		t.Errorf("general query %+v", s)
	}

	conn.in <- fakeMsg{b: buildReport(rec{typ: ChangeToExclude, group: g.String()}), ifindex: 1, src: host, hop: 1}
	select {
	case <-l.Notify():
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after a join")
	}
	if j := l.TakeEvents(nil); len(j) != 1 || j[0] != (Event{Ifindex: 1, Group: g, Source: host}) {
		t.Fatalf("joins %v", j)
	}
	if !l.Wanted(1, g) {
		t.Fatal("joined group not wanted")
	}

	conn.in <- fakeMsg{b: buildReport(rec{typ: ChangeToInclude, group: g.String()}), ifindex: 1, src: host, hop: 1}
	eventually(t, "first last-listener query", func() bool { return len(conn.sentTo(g)) == 1 })
	if s := conn.sentTo(g)[0]; s.q.Group != g || s.q.MaxResponseDelay != testLLQI || s.src != ourAddr {
		t.Errorf("last-listener query %+v", s)
	}
	clk.Advance(testLLQI)
	eventually(t, "second last-listener query", func() bool { return len(conn.sentTo(g)) == 2 })
	clk.Advance(testLLQT - testLLQI)
	eventually(t, "group dropped", func() bool { return !l.Wanted(1, g) })
	if st := l.Stats(); st.LeavesConfirmed != 1 || st.QueriesSent != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestListenerReadErrorEndsRun(t *testing.T) {
	clk := newFakeClock()
	cfg := testConfig()
	cfg.Clock = clk
	conn := newFakeConn()
	l, err := newListener(cfg, []Link{{Index: 1, Name: "eth0", Addr: ourAddr}}, conn)
	if err != nil {
		t.Fatal(err)
	}
	conn.in <- fakeMsg{b: []byte{TypeV2Report, 0, 0, 0, 0}, ifindex: 1, src: host, hop: 1} // malformed: counted, not fatal
	conn.in <- fakeMsg{err: errors.New("boom")}
	err = l.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.HasPrefix(err.Error(), "mld: ") {
		t.Fatalf("Run = %v, want the wrapped read error", err)
	}
	if st := l.Stats(); st.ReadErrors != 1 || st.ParseErrors != 1 {
		t.Errorf("read errors %d parse errors %d, want 1 1", st.ReadErrors, st.ParseErrors)
	}
	if err := l.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Run = %v", err)
	}
}

func TestListenerWantedWakesRun(t *testing.T) {
	l, conn, clk, _ := runListener(t, testConfig())
	g := addr("ff15::99")
	eventually(t, "startup general query", func() bool { return len(conn.sentTo(allNodes())) == 1 })
	if !l.Wanted(1, g) { // a verification: query now, deadline LLQT
		t.Fatal("unverified group not wanted")
	}
	if n := len(conn.sentTo(g)); n != 1 {
		t.Fatalf("%d verification queries", n)
	}
	clk.Advance(testLLQI)
	eventually(t, "second verification query", func() bool { return len(conn.sentTo(g)) == 2 })
	clk.Advance(testLLQT)
	eventually(t, "verification failed", func() bool { return !l.Wanted(1, g) })
}

// TestListenerConcurrentUse feeds reports while other goroutines ask Wanted, drain joins and
// read Stats, as the sender and a stats printer do; run with -race.
func TestListenerConcurrentUse(t *testing.T) {
	l, conn, clk, stop := runListener(t, testConfig())
	const n = 500
	done := make(chan struct{})
	var wg sync.WaitGroup
	seen := make(map[netip.Addr]bool)
	wg.Add(3)
	go func() { // the sender: wake-ups and joins
		defer wg.Done()
		var buf []Event
		for {
			select {
			case <-l.Notify():
				buf = l.TakeEvents(buf[:0])
				for _, j := range buf {
					seen[j.Group] = true
				}
			case <-done:
				return
			}
		}
	}()
	go func() { // the sender: per-group checks
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
				l.Wanted(1, groupN(i%n))
			}
		}
	}()
	go func() { // a stats printer and the clock
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				_ = l.Stats()
				clk.Advance(time.Millisecond)
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for i := 0; i < n; i++ {
		conn.in <- fakeMsg{b: buildReport(rec{typ: ChangeToExclude, group: groupN(i).String()}), ifindex: 1, src: host, hop: 1}
	}
	eventually(t, "all reports applied", func() bool { return l.Stats().Reports == n })
	stop()
	close(done)
	wg.Wait()
	for _, j := range l.TakeEvents(nil) {
		seen[j.Group] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct groups joined, want %d", len(seen), n)
	}
}
