//go:build linux

package mld

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv6"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestNetnsAddLink adds a link to a running growable Listener: joins on it are heard; once
// removed, its groups are no longer wanted and later joins on it are ignored, while the first
// link keeps working throughout.
func TestNetnsAddLink(t *testing.T) {
	netnstest.Require(t)
	ln := netnstest.New(t, "mldl")
	mn := netnstest.New(t, "mldm")
	pair := func(a, b string) {
		ln.MustRun("ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", mn.Name)
		ln.MustRun("ip", "link", "set", a, "up")
		mn.MustRun("ip", "link", "set", b, "up")
		waitLinkLocal(t, ln, a)
		waitLinkLocal(t, mn, b)
	}
	pair("x0", "x1")
	cfg := netnsConfig()
	cfg.Growable = true
	var l *Listener
	var x0 *net.Interface
	if err := ln.Do(func() (err error) {
		if x0, err = net.InterfaceByName("x0"); err != nil {
			return err
		}
		cfg.Ifaces = []net.Interface{*x0}
		l, err = Listen(cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, l)
	defer stop()
	mx := memberOn(t, mn, "x1")
	gx, gy, gz := testGroup(9, 1), testGroup(9, 2), testGroup(9, 3)
	mx.join(t, gx)
	waitEvent(t, l, x0.Index, gx)

	pair("y0", "y1")
	var y0 *net.Interface
	if err := ln.Do(func() (err error) {
		if y0, err = net.InterfaceByName("y0"); err != nil {
			return err
		}
		return l.AddLink(*y0)
	}); err != nil {
		t.Fatal(err)
	}
	if links := l.Links(); len(links) != 2 || !links[1].Addr.IsLinkLocalUnicast() {
		t.Fatalf("links after AddLink: %+v", links)
	}
	my := memberOn(t, mn, "y1")
	my.join(t, gy)
	waitEvent(t, l, y0.Index, gy)
	if !l.Wanted(y0.Index, gy) {
		t.Error("group joined on the added link not wanted")
	}

	if !l.RemoveLink(y0.Index) {
		t.Fatal("RemoveLink(y0) reported false")
	}
	my.join(t, gz)
	mx.join(t, gz)
	waitEvent(t, l, x0.Index, gz)
	for _, ev := range l.TakeEvents(nil) {
		if ev.Ifindex == y0.Index {
			t.Errorf("event on the removed link: %+v", ev)
		}
	}
	if l.Wanted(y0.Index, gy) || !l.Wanted(x0.Index, gx) {
		t.Errorf("after removing y0: wanted there %v (want false), on x0 %v (want true)", l.Wanted(y0.Index, gy), l.Wanted(x0.Index, gx))
	}
	stop()
	if st := l.Stats(); st.ReadErrors != 0 {
		t.Errorf("read errors, closing included: %d", st.ReadErrors)
	}
}

// waitLinkLocal waits until dev in ns has a link-local address that is not tentative.
func waitLinkLocal(t *testing.T, ns *netnstest.NS, dev string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, err := ns.Run("ip", "-6", "addr", "show", "dev", dev, "scope", "link")
		if err == nil && strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative") {
			return
		}
	}
	t.Fatalf("%s in %s has no link-local address after 10 s", dev, ns.Name)
}

// memberOn opens a socket in ns for joining groups on dev.
func memberOn(t *testing.T, ns *netnstest.NS, dev string) *member {
	t.Helper()
	m := &member{}
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		c, err := net.ListenPacket("udp6", "[::]:0")
		if err != nil {
			return err
		}
		m.c, m.p, m.ifi = c, ipv6.NewPacketConn(c), ifi
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.c.Close() })
	return m
}

// waitEvent waits up to 5 s for a join of g on ifindex; other events are dropped.
func waitEvent(t *testing.T, l *Listener, ifindex int, g netip.Addr) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		for _, ev := range l.TakeEvents(nil) {
			if ev.Ifindex == ifindex && ev.Group == g && !ev.Leave {
				return
			}
		}
		select {
		case <-l.Notify():
		case <-deadline.C:
			t.Fatalf("no join of %v on interface %d within 5 s; stats %+v", g, ifindex, l.Stats())
		}
	}
}
