//go:build linux

package mcast

import (
	"errors"
	"net"
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestSendConnAddRemoveIface adds an interface to a running sender, which then sends on it,
// and removes it again: sends on it fail with ErrInterfaceGone, the other interface goes on.
func TestSendConnAddRemoveIface(t *testing.T) {
	netnstest.Require(t)
	ns := netnstest.New(t, "lcmi")
	for _, p := range [][2]string{{"x0", "x1"}, {"y0", "y1"}} {
		ns.MustRun("ip", "link", "add", p[0], "type", "veth", "peer", "name", p[1])
		ns.MustRun("ip", "link", "set", p[0], "up")
		ns.MustRun("ip", "link", "set", p[1], "up")
	}
	for _, dev := range []string{"x0", "x1", "y0", "y1"} {
		waitLinkReady(t, ns, dev)
	}
	x0, x1, y0, y1 := ifaceIn(t, ns, "x0"), ifaceIn(t, ns, "x1"), ifaceIn(t, ns, "y0"), ifaceIn(t, ns, "y1")
	g := TreeGroup(ScopeSite, 3, [32]byte{0x1f})
	r := listenIn(t, ns, RecvConfig{Port: testPort, Ifaces: []net.Interface{x1, y1}})
	mustJoin(t, r, g)
	c := collect(t, r, 64)
	s := senderIn(t, ns, SendConfig{Port: testPort, Ifaces: []net.Interface{x0}, NoLoopback: true})

	if _, err := s.Send(y0.Index, tagged(g, "early", 1)); !errors.Is(err, ErrInterfaceGone) {
		t.Fatalf("send on an interface not added yet: %v, want ErrInterfaceGone", err)
	}
	add := func() error { return ns.Do(func() error { return s.AddIface(y0) }) } // the socket opens in ns
	if err := add(); err != nil {
		t.Fatal(err)
	}
	if err := add(); err != nil || len(s.Ifaces()) != 2 {
		t.Fatalf("adding y0 twice: %v, %d interfaces", err, len(s.Ifaces()))
	}
	if s.MaxPayload(y0.Index) != y0.MTU-udp6Overhead {
		t.Errorf("MaxPayload(y0) = %d", s.MaxPayload(y0.Index))
	}
	mustSend(t, s, y0, tagged(g, "Y", 5))
	mustSend(t, s, x0, tagged(g, "X", 5))
	got := c.until(t, "five datagrams on each interface", func(got [][]byte) bool {
		tags := countTags(got)
		return tags["Y"] == 5 && tags["X"] == 5
	})
	if tags := countTags(got); len(got) != 10 {
		t.Errorf("got %v, want 5 X and 5 Y", tags)
	}

	if !s.RemoveIface(y0.Index) || s.RemoveIface(y0.Index) {
		t.Error("RemoveIface(y0) should report true once, then false")
	}
	if ifs := s.Ifaces(); len(ifs) != 1 || ifs[0].Index != x0.Index {
		t.Errorf("Ifaces after removing y0 = %v", ifs)
	}
	if _, err := s.Send(y0.Index, tagged(g, "late", 1)); !errors.Is(err, ErrInterfaceGone) {
		t.Errorf("send on a removed interface: %v, want ErrInterfaceGone", err)
	}
	if err := s.SendSegments(y0.Index, g, make([]byte, 100), 50); !errors.Is(err, ErrInterfaceGone) {
		t.Errorf("SendSegments on a removed interface: %v, want ErrInterfaceGone", err)
	}
	mustSend(t, s, x0, tagged(g, "X2", 3))
	c.until(t, "x0 still sends", func(got [][]byte) bool { return countTags(got)["X2"] == 3 })
	s.Close()
	if err := add(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("AddIface after Close: %v", err)
	}
}

// TestRecvConnAddRemoveIface adds an interface to a receiver with a group joined: the group
// is joined there too and its datagrams arrive; once removed, datagrams on it are dropped.
func TestRecvConnAddRemoveIface(t *testing.T) {
	netnstest.Require(t)
	ns := netnstest.New(t, "lcmr")
	for _, p := range [][2]string{{"x0", "x1"}, {"y0", "y1"}} {
		ns.MustRun("ip", "link", "add", p[0], "type", "veth", "peer", "name", p[1])
		ns.MustRun("ip", "link", "set", p[0], "up")
		ns.MustRun("ip", "link", "set", p[1], "up")
	}
	for _, dev := range []string{"x0", "x1", "y0", "y1"} {
		waitLinkReady(t, ns, dev)
	}
	x0, x1, y0, y1 := ifaceIn(t, ns, "x0"), ifaceIn(t, ns, "x1"), ifaceIn(t, ns, "y0"), ifaceIn(t, ns, "y1")
	g := TreeGroup(ScopeSite, 3, [32]byte{0x2f})
	r := listenIn(t, ns, RecvConfig{Port: testPort, Ifaces: []net.Interface{x1}})
	mustJoin(t, r, g)
	c := collect(t, r, 64)
	s := senderIn(t, ns, SendConfig{Port: testPort, Ifaces: []net.Interface{x0, y0}, NoLoopback: true})

	if err := ns.Do(func() error { return r.AddIface(y1) }); err != nil {
		t.Fatal(err)
	}
	mustSend(t, s, y0, tagged(g, "Y", 4))
	c.until(t, "datagrams on the added interface", func(got [][]byte) bool { return countTags(got)["Y"] == 4 })

	if !r.RemoveIface(y1.Index) || r.RemoveIface(y1.Index) {
		t.Error("RemoveIface(y1) should report true once, then false")
	}
	mustSend(t, s, y0, tagged(g, "Y2", 4))
	mustSend(t, s, x0, tagged(g, "X", 4))
	got := c.until(t, "datagrams on x1", func(got [][]byte) bool { return countTags(got)["X"] == 4 })
	if n := countTags(got)["Y2"]; n != 0 {
		t.Errorf("%d datagrams delivered from the removed interface", n)
	}
	if err := r.Leave(g); err != nil {
		t.Errorf("leaving after the removal: %v", err)
	}
}
