//go:build linux

package mcast

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// waitBound bounds every wait for network traffic in the privileged tests. It is a safety net
// against hangs, never an assertion on speed.
const waitBound = 20 * time.Second

// testPort is the UDP port the privileged tests use; each test has its own namespaces.
const testPort = 4242

// vethPair creates two namespaces joined by a veth pair, each end named eth0, up, with a
// static address (fd00:6c63::1 on a, ::2 on b) and the given MTU.
func vethPair(tb testing.TB, mtu int) (a, b *netnstest.NS) {
	tb.Helper()
	a = netnstest.New(tb, "lcma")
	b = netnstest.New(tb, "lcmb")
	m := fmt.Sprint(mtu)
	a.MustRun("ip", "link", "add", "eth0", "mtu", m, "type", "veth", "peer", "name", "eth0", "mtu", m, "netns", b.Name)
	a.MustRun("ip", "addr", "add", "fd00:6c63::1/64", "dev", "eth0", "nodad")
	b.MustRun("ip", "addr", "add", "fd00:6c63::2/64", "dev", "eth0", "nodad")
	a.MustRun("ip", "link", "set", "eth0", "up")
	b.MustRun("ip", "link", "set", "eth0", "up")
	waitLinkReady(tb, a, "eth0")
	waitLinkReady(tb, b, "eth0")
	return a, b
}

// waitLinkReady waits until IPv6 has configured dev: the kernel installs the ff00::/8
// multicast route and the link-local address only once the carrier is seen, which link
// watch reports up to a second after the link went up. Until then incoming multicast is
// dropped as having no route (Ip6InNoRoutes).
func waitLinkReady(tb testing.TB, ns *netnstest.NS, dev string) {
	tb.Helper()
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		routes, err1 := ns.Run("ip", "-6", "route", "show", "table", "local", "dev", dev)
		addrs, err2 := ns.Run("ip", "-6", "addr", "show", "dev", dev, "scope", "link")
		if err1 == nil && err2 == nil && strings.Contains(routes, "multicast ff00::/8") &&
			strings.Contains(addrs, "fe80::") && !strings.Contains(addrs, "tentative") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("IPv6 on %s in %s not ready within %v", dev, ns.Name, waitBound)
}

// ifaceIn returns the interface called name inside namespace ns.
func ifaceIn(tb testing.TB, ns *netnstest.NS, name string) net.Interface {
	tb.Helper()
	var ifi *net.Interface
	if err := ns.Do(func() (err error) {
		ifi, err = net.InterfaceByName(name)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	return *ifi
}

// listenIn opens a Receiver inside ns; it is closed when the test ends.
func listenIn(tb testing.TB, ns *netnstest.NS, cfg RecvConfig) *RecvConn {
	tb.Helper()
	var r *RecvConn
	if err := ns.Do(func() (err error) {
		r, err = ListenRecv(cfg)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// senderIn opens a Sender inside ns; it is closed when the test ends.
func senderIn(tb testing.TB, ns *netnstest.NS, cfg SendConfig) *SendConn {
	tb.Helper()
	var s *SendConn
	if err := ns.Do(func() (err error) {
		s, err = NewSendConn(cfg)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// collector owns the single reader goroutine of a Receiver and hands out copies of what it
// reads. The goroutine exits when the receiver is closed; Cleanup closes it and waits.
type collector struct {
	r     *RecvConn
	ch    chan []byte
	exit  chan error
	noSrc atomic.Int64 // datagrams read without a source address
}

func collect(tb testing.TB, r *RecvConn, capacity int) *collector {
	c := &collector{r: r, ch: make(chan []byte, capacity), exit: make(chan error, 1)}
	go func() {
		b := NewBatch(64)
		for {
			if err := r.Read(b); err != nil {
				close(c.ch)
				c.exit <- err
				return
			}
			for i := range b.Len() {
				if src := b.Source(i); !src.IsValid() || src.IsMulticast() {
					c.noSrc.Add(1)
				}
				c.ch <- bytes.Clone(b.Datagram(i))
			}
		}
	}()
	tb.Cleanup(func() { c.stop(tb) })
	return c
}

// stop closes the receiver and waits for the reader to return net.ErrClosed.
func (c *collector) stop(tb testing.TB) {
	c.r.Close()
	for range c.ch { //nolint:revive // drain so the reader can exit
	}
	if n := c.noSrc.Load(); n > 0 {
		tb.Errorf("%d datagrams read without their source address", n)
	}
	if err := <-c.exit; !errors.Is(err, net.ErrClosed) {
		tb.Errorf("reader ended with %v, want net.ErrClosed", err)
	}
	c.exit <- net.ErrClosed // let a second stop pass
}

// until gathers datagrams until done returns true for the slice so far, and fails the test if
// that takes longer than waitBound.
func (c *collector) until(tb testing.TB, what string, done func([][]byte) bool) [][]byte {
	tb.Helper()
	var got [][]byte
	timer := time.NewTimer(waitBound)
	defer timer.Stop()
	for !done(got) {
		select {
		case d, ok := <-c.ch:
			if !ok {
				tb.Fatalf("receiver closed while waiting for %s (got %d datagrams)", what, len(got))
			}
			got = append(got, d)
		case <-timer.C:
			tb.Fatalf("no %s within %v (got %d datagrams)", what, waitBound, len(got))
		}
	}
	return got
}

// within gathers whatever arrives during d (a bounded wait, used only to give up on a datagram
// that may have been dropped).
func (c *collector) within(d time.Duration) [][]byte {
	var got [][]byte
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case b, ok := <-c.ch:
			if !ok {
				return got
			}
			got = append(got, b)
		case <-timer.C:
			return got
		}
	}
}

// untilMarker gathers datagrams until one equal to marker arrives.
func (c *collector) untilMarker(tb testing.TB, marker []byte) [][]byte {
	tb.Helper()
	return c.until(tb, fmt.Sprintf("marker %q", marker), func(got [][]byte) bool {
		return len(got) > 0 && bytes.Equal(got[len(got)-1], marker)
	})
}

// mustJoin joins every group or fails the test.
func mustJoin(tb testing.TB, r *RecvConn, gs ...netip.Addr) {
	tb.Helper()
	for _, g := range gs {
		if err := r.Join(g); err != nil {
			tb.Fatal(err)
		}
	}
}

// mustSend sends ds from s on interface ifi and fails the test on error.
func mustSend(tb testing.TB, s *SendConn, ifi net.Interface, ds []Datagram) {
	tb.Helper()
	n, err := s.Send(ifi.Index, ds)
	if err != nil || n != len(ds) {
		tb.Fatalf("Send: sent %d of %d: %v", n, len(ds), err)
	}
}

// tagged returns n datagrams to g whose payloads are "tag/i".
func tagged(g netip.Addr, tag string, n int) []Datagram {
	ds := make([]Datagram, n)
	for i := range ds {
		ds[i] = Datagram{Group: g, Payload: fmt.Appendf(nil, "%s/%d", tag, i)}
	}
	return ds
}

// countTags counts the datagrams of got by their tag (the part before "/").
func countTags(got [][]byte) map[string]int {
	m := make(map[string]int)
	for _, d := range got {
		tag, _, _ := strings.Cut(string(d), "/")
		m[tag]++
	}
	return m
}

// waitMDB waits until the rig's bridge has learned group g on port, so snooping forwards it.
func waitMDB(tb testing.TB, rig *netnstest.Rig, port string, g netip.Addr) {
	tb.Helper()
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(rig.MDB(), "\n") {
			if strings.Contains(line, " port "+port+" ") && strings.Contains(line, " grp "+g.String()+" ") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("bridge did not learn %v on port %s within %v; mdb:\n%s", g, port, waitBound, rig.MDB())
}
