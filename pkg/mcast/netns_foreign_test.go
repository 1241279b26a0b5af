//go:build linux

package mcast

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestUnicastIsForeign: a receiving socket is bound to [::]:port, so the kernel hands it
// unicast datagrams sent to any of the host's addresses on that port. Read must drop them,
// count them as foreign, and still deliver the group it joined: single unicast datagrams to
// the global and the link-local address, and a GSO train of them (which GRO may coalesce).
func TestUnicastIsForeign(t *testing.T) {
	netnstest.Require(t)
	const n = 50
	a, b := vethPair(t, 1500)
	ifa, ifb := ifaceIn(t, a, "eth0"), ifaceIn(t, b, "eth0")
	for _, noGRO := range []bool{false, true} {
		t.Run(fmt.Sprintf("gro=%v", !noGRO), func(t *testing.T) {
			g := DataGroup(ScopeSite, [32]byte{0xf0, 0x4e})
			r := listenIn(t, b, RecvConfig{Port: testPort, Ifaces: []net.Interface{ifb}, NoGRO: noGRO})
			mustJoin(t, r, g)
			c := collect(t, r, 4*n)

			// The attacker's plain UDP socket, on the host next door.
			var u *net.UDPConn
			if err := a.Do(func() (err error) {
				u, err = net.ListenUDP("udp6", &net.UDPAddr{})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			ll := linkLocal(t, b, "eth0")
			sent := 0
			for _, dst := range []*net.UDPAddr{
				{IP: net.ParseIP("fd00:6c63::2"), Port: testPort},
				{IP: ll, Port: testPort, Zone: strconv.Itoa(ifa.Index)}, // a name would be looked up outside the namespace
			} {
				for i := range n {
					if _, err := u.WriteToUDP(fmt.Appendf(nil, "U/%d", i), dst); err != nil {
						t.Fatalf("unicast to %v: %v", dst, err)
					}
					sent++
				}
			}
			// A GSO train of 20 unicast segments, as a fast attacker would send them.
			const segs, seg = 20, 1000
			train := bytes.Repeat([]byte("U"), segs*seg)
			if _, _, err := u.WriteMsgUDP(train, gsoControl(seg), &net.UDPAddr{IP: net.ParseIP("fd00:6c63::2"), Port: testPort}); err != nil {
				t.Logf("no GSO unicast train (%v): checked single datagrams only", err)
			} else {
				sent += segs
			}

			s := senderIn(t, a, SendConfig{Port: testPort, Ifaces: []net.Interface{ifa}})
			mustSend(t, s, ifa, tagged(g, "G", n))
			mustSend(t, s, ifa, []Datagram{{g, []byte("G-end")}})
			got := c.untilMarker(t, []byte("G-end"))
			tags := countTags(got)
			if tags["U"] != 0 || tags["UUU"] != 0 || len(got) != n+1 {
				t.Errorf("got %v, want only the %d datagrams of the group and its marker", tags, n)
			}
			st := r.Stats()
			if st.Foreign != uint64(sent) || st.Datagrams != n+1 {
				t.Errorf("stats %+v, want %d foreign and %d datagrams", st, sent, n+1)
			}
			t.Logf("%d unicast datagrams dropped as foreign; %d delivered from the group", st.Foreign, st.Datagrams)
		})
	}
}

// linkLocal returns the fe80:: address of dev inside ns.
func linkLocal(tb testing.TB, ns *netnstest.NS, dev string) net.IP {
	tb.Helper()
	var ip net.IP
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.IsLinkLocalUnicast() {
				ip = n.IP
				return nil
			}
		}
		return fmt.Errorf("no link-local address on %s", dev)
	}); err != nil {
		tb.Fatal(err)
	}
	return ip
}
