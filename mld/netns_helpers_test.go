//go:build linux

package mld

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/ipv6"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// Shortened timers for the namespace tests: MALI = 2*2 s + 1 s = 5 s, LLQT = 2*300 ms.
func netnsConfig() Config {
	return Config{
		Robustness:                2,
		QueryInterval:             2 * time.Second,
		QueryResponseInterval:     time.Second,
		LastListenerQueryInterval: 300 * time.Millisecond,
		SweepInterval:             100 * time.Millisecond,
		Capacity:                  10000,
		Querier:                   true,
	}
}

const (
	netnsMALI = 5 * time.Second
	netnsLLQT = 600 * time.Millisecond
)

// rigListener is a Listener running in a rig's sender namespace.
type rigListener struct {
	*Listener
	ifindex int
	stop    func()
}

// startListener opens and runs a Listener on the sender's eth0. stop (also run at cleanup)
// cancels it and checks that Run returned nil.
func startListener(t testing.TB, rig *netnstest.Rig, cfg Config) *rigListener {
	t.Helper()
	var l *Listener
	var ifindex int
	if err := rig.Sender.Do(func() error {
		ifi, err := net.InterfaceByName(netnstest.Iface)
		if err != nil {
			return err
		}
		ifindex = ifi.Index
		cfg.Ifaces = []net.Interface{*ifi}
		l, err = Listen(cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	run := startRun(t, l)
	stop := func() { run() }
	t.Cleanup(stop)
	return &rigListener{Listener: l, ifindex: ifindex, stop: stop}
}

// member is a receiver's UDP socket used only to join and leave groups.
type member struct {
	p   *ipv6.PacketConn
	c   net.PacketConn
	ifi *net.Interface
}

// newMember opens a socket in ns for joining groups on its eth0.
func newMember(t testing.TB, ns *netnstest.NS) *member {
	t.Helper()
	m := &member{}
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(netnstest.Iface)
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

func (m *member) join(t testing.TB, g netip.Addr) {
	t.Helper()
	if err := m.p.JoinGroup(m.ifi, &net.UDPAddr{IP: g.AsSlice()}); err != nil {
		t.Fatalf("joining %v: %v", g, err)
	}
}

func (m *member) leave(t testing.TB, g netip.Addr) {
	t.Helper()
	if err := m.p.LeaveGroup(m.ifi, &net.UDPAddr{IP: g.AsSlice()}); err != nil {
		t.Fatalf("leaving %v: %v", g, err)
	}
}

// waitJoins collects Join events until every group in want has been seen on ifindex, or
// the timeout passes; it returns the groups still missing.
func waitJoins(l *rigListener, want []netip.Addr, timeout time.Duration) map[netip.Addr]bool {
	missing := map[netip.Addr]bool{}
	for _, g := range want {
		missing[g] = true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var buf []Event
	for len(missing) > 0 {
		select {
		case <-l.Notify():
		case <-deadline.C:
			return missing
		}
		buf = l.TakeEvents(buf[:0])
		for _, j := range buf {
			if j.Ifindex == l.ifindex {
				delete(missing, j.Group)
			}
		}
	}
	return missing
}

// waitWanted polls Wanted until it equals want, returning how long that took, or fails.
func waitWanted(t testing.TB, l *rigListener, g netip.Addr, want bool, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for l.Wanted(l.ifindex, g) != want {
		if time.Since(start) > timeout {
			t.Fatalf("Wanted(%v) still %v after %v; stats %+v", g, !want, timeout, l.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// testGroup returns a distinct site-scope group for test n and index i.
func testGroup(n, i int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("ff15::6c63:%x:%x", n, i))
}
