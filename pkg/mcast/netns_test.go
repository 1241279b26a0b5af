//go:build linux

package mcast

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestRigGroupIsolation: on the bridge rig, receiver 1 joins group A and receiver 2 group B,
// both on the same port. Each sees exactly its own group's datagrams; after Leave a receiver
// sees none of that group.
func TestRigGroupIsolation(t *testing.T) {
	netnstest.Require(t, "bridge")
	const n = 200
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	gA, gB, gC := DataGroup(ScopeSite, [32]byte{0xa}), DataGroup(ScopeSite, [32]byte{0xb}), ManifestGroup(ScopeSite, "control")
	r1 := listenIn(t, rig.Receivers[0], RecvConfig{Port: testPort, Ifaces: []net.Interface{ifaceIn(t, rig.Receivers[0], netnstest.Iface)}})
	r2 := listenIn(t, rig.Receivers[1], RecvConfig{Port: testPort, Ifaces: []net.Interface{ifaceIn(t, rig.Receivers[1], netnstest.Iface)}})
	mustJoin(t, r1, gA, gC)
	mustJoin(t, r2, gB)
	if err := r1.Join(gA); err != nil {
		t.Errorf("joining a joined group again: %v", err)
	}
	waitMDB(t, rig, "r1", gA)
	waitMDB(t, rig, "r1", gC)
	waitMDB(t, rig, "r2", gB)

	ifs := ifaceIn(t, rig.Sender, netnstest.Iface)
	s := senderIn(t, rig.Sender, SendConfig{Port: testPort, Ifaces: []net.Interface{ifs}})
	c1, c2 := collect(t, r1, 4*n), collect(t, r2, 4*n)

	// B first, so that any B datagram leaking to receiver 1 arrives before A's marker.
	mustSend(t, s, ifs, tagged(gB, "B", n))
	mustSend(t, s, ifs, tagged(gA, "A", n))
	mustSend(t, s, ifs, []Datagram{{gA, []byte("A-end")}, {gB, []byte("B-end")}})

	for _, tc := range []struct {
		name      string
		c         *collector
		own, othr string
	}{{"receiver 1", c1, "A", "B"}, {"receiver 2", c2, "B", "A"}} {
		got := tc.c.until(t, tc.own+" complete", func(got [][]byte) bool {
			tags := countTags(got)
			return tags[tc.own] == n && tags[tc.own+"-end"] == 1
		})
		if tags := countTags(got); tags[tc.othr] != 0 || tags[tc.othr+"-end"] != 0 || len(got) != n+1 {
			t.Errorf("%s got %v, want exactly %d of %s and its marker", tc.name, tags, n, tc.own)
		}
	}

	// After leaving A, receiver 1 gets nothing of A; the marker on C shows the traffic is over.
	if err := r1.Leave(gA); err != nil {
		t.Fatal(err)
	}
	if err := r1.Leave(gA); err == nil || !strings.Contains(err.Error(), "not joined") {
		t.Errorf("leaving twice: %v, want a not-joined error", err)
	}
	mustSend(t, s, ifs, tagged(gA, "A", n))
	mustSend(t, s, ifs, []Datagram{{gC, []byte("C-end")}})
	got := c1.untilMarker(t, []byte("C-end"))
	if tags := countTags(got); tags["A"] != 0 {
		t.Errorf("receiver 1 got %d datagrams of A after leaving it", tags["A"])
	}
	if st := r1.Stats(); st.Datagrams != n+2 || st.Drops != 0 {
		t.Errorf("receiver 1 stats %+v, want %d datagrams and no drops", st, n+2)
	}
}

// TestSameHostNoCrossDelivery is the IPV6_MULTICAST_ALL=0 check: one namespace, two receiving
// sockets on the same port joined to different groups, and the sender in the same namespace
// with loopback on. Neither socket may see the other's group, although the host is a member
// of both. A sender with NoLoopback reaches neither.
func TestSameHostNoCrossDelivery(t *testing.T) {
	netnstest.Require(t)
	const n = 300
	ns := netnstest.New(t, "lcmh")
	ns.MustRun("ip", "link", "add", "x0", "type", "veth", "peer", "name", "x1")
	ns.MustRun("ip", "link", "set", "x0", "up")
	ns.MustRun("ip", "link", "set", "x1", "up")
	waitLinkReady(t, ns, "x0")
	ifi := ifaceIn(t, ns, "x0")
	gA, gB := TreeGroup(ScopeSite, 3, [32]byte{0xa}), TreeGroup(ScopeSite, 3, [32]byte{0xb})
	r1 := listenIn(t, ns, RecvConfig{Port: testPort, Ifaces: []net.Interface{ifi}})
	r2 := listenIn(t, ns, RecvConfig{Port: testPort, Ifaces: []net.Interface{ifi}})
	mustJoin(t, r1, gA)
	mustJoin(t, r2, gB)
	loud := senderIn(t, ns, SendConfig{Port: testPort, Ifaces: []net.Interface{ifi}})
	quiet := senderIn(t, ns, SendConfig{Port: testPort, Ifaces: []net.Interface{ifi}, NoLoopback: true})
	c1, c2 := collect(t, r1, 4*n), collect(t, r2, 4*n)

	mustSend(t, quiet, ifi, tagged(gA, "quietA", n))
	mustSend(t, quiet, ifi, tagged(gB, "quietB", n))
	mustSend(t, loud, ifi, tagged(gB, "B", n))
	mustSend(t, loud, ifi, tagged(gA, "A", n))
	mustSend(t, loud, ifi, []Datagram{{gA, []byte("A-end")}, {gB, []byte("B-end")}})

	for _, tc := range []struct {
		name     string
		c        *collector
		own, oth string
	}{{"socket 1", c1, "A", "B"}, {"socket 2", c2, "B", "A"}} {
		got := tc.c.until(t, tc.own+" complete", func(got [][]byte) bool {
			tags := countTags(got)
			return tags[tc.own] == n && tags[tc.own+"-end"] == 1
		})
		tags := countTags(got)
		if tags[tc.oth] != 0 || tags[tc.oth+"-end"] != 0 {
			t.Errorf("%s joined only %s but got %d datagrams of %s: IPV6_MULTICAST_ALL is not 0", tc.name, tc.own, tags[tc.oth]+tags[tc.oth+"-end"], tc.oth)
		}
		if tags["quiet"+tc.own] != 0 || tags["quiet"+tc.oth] != 0 {
			t.Errorf("%s got datagrams from the NoLoopback sender: %v", tc.name, tags)
		}
		if len(got) != n+1 {
			t.Errorf("%s got %d datagrams (%v), want %d and the marker", tc.name, len(got), tags, n)
		}
	}
}

// TestSameHostSegments: a GSO train looped back to receivers on the sending host arrives
// exactly, at a socket with GRO and at one without, both joined to the group on one port.
func TestSameHostSegments(t *testing.T) {
	netnstest.Require(t)
	ns := netnstest.New(t, "lcmg")
	ns.MustRun("ip", "link", "add", "x0", "type", "veth", "peer", "name", "x1")
	ns.MustRun("ip", "link", "set", "x0", "up")
	ns.MustRun("ip", "link", "set", "x1", "up")
	waitLinkReady(t, ns, "x0")
	ifi := ifaceIn(t, ns, "x0")
	g := DataGroup(ScopeSite, [32]byte{0x5a})
	var want [][]byte
	for i := range 100 {
		want = append(want, payload1452(i))
	}
	want = append(want, payload1452(100)[:33])
	s := senderIn(t, ns, SendConfig{Port: testPort, Ifaces: []net.Interface{ifi}})
	var cs []*collector
	for _, noGRO := range []bool{false, true} {
		r := listenIn(t, ns, RecvConfig{Port: testPort, Ifaces: []net.Interface{ifi}, NoGRO: noGRO})
		mustJoin(t, r, g)
		cs = append(cs, collect(t, r, 2*len(want)))
	}
	if err := s.SendSegments(ifi.Index, g, bytes.Join(want, nil), 1452); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		got := c.until(t, "every segment", func(got [][]byte) bool { return len(got) == len(want) })
		seen := make(map[int]bool)
		for _, d := range got {
			i := int(binary.BigEndian.Uint32(d))
			if i >= len(want) || seen[i] || !bytes.Equal(d, want[i]) {
				t.Fatalf("datagram with index %d (%d bytes) is duplicated or not one that was sent", i, len(d))
			}
			seen[i] = true
		}
		st := c.r.Stats()
		t.Logf("GSO %v, GRO %v: %d datagrams in %d messages, %d coalesced trains", s.GSO(), st.GRO, st.Datagrams, st.Messages, st.Trains)
		if st.Messages == 0 || st.Messages > st.Datagrams || st.Trains > st.Messages {
			t.Fatalf("counters do not add up: %d datagrams, %d messages, %d trains", st.Datagrams, st.Messages, st.Trains)
		}
	}
}

// payload1452 returns datagram i of a numbered train: a 4-byte index, then bytes derived from
// it, 1452 bytes in all.
func payload1452(i int) []byte {
	p := make([]byte, 1452)
	binary.BigEndian.PutUint32(p, uint32(i))
	for j := 4; j < len(p); j++ {
		p[j] = byte(i*7 + j)
	}
	return p
}

// full1452 returns n datagrams to g with the payloads payload1452(0..n-1).
func full1452(g netip.Addr, n int) []Datagram {
	ds := make([]Datagram, n)
	for i := range ds {
		ds[i] = Datagram{Group: g, Payload: payload1452(i)}
	}
	return ds
}

// TestSendBatch10k: 10k datagrams in one Send call arrive complete, exactly once and byte for
// byte, at a receiver with the default 32 MiB buffer, with no kernel drops.
func TestSendBatch10k(t *testing.T) {
	netnstest.Require(t)
	const n = 10000
	a, b := vethPair(t, 1500)
	ifa, ifb := ifaceIn(t, a, "eth0"), ifaceIn(t, b, "eth0")
	g := DataGroup(ScopeSite, [32]byte{0x10, 0x4})
	r := listenIn(t, b, RecvConfig{Port: testPort, Ifaces: []net.Interface{ifb}})
	mustJoin(t, r, g)
	s := senderIn(t, a, SendConfig{Port: testPort, Ifaces: []net.Interface{ifa}})
	c := collect(t, r, n+16)
	ds := full1452(g, n)
	mustSend(t, s, ifa, ds)
	got := c.until(t, "10k datagrams", func(got [][]byte) bool { return len(got) == n })
	seen := make([]bool, n)
	for _, d := range got {
		i := int(binary.BigEndian.Uint32(d))
		if i >= n || seen[i] || !bytes.Equal(d, ds[i].Payload) {
			t.Fatalf("datagram claiming index %d is out of range, duplicated or corrupt", i)
		}
		seen[i] = true
	}
	st := r.Stats()
	if st.Datagrams != n || st.Bytes != n*1452 || st.Drops != 0 || st.Truncated != 0 {
		t.Errorf("stats %+v, want %d datagrams of 1452 bytes and no drops", st, n)
	}
	if !st.RcvBufForced || st.RcvBuf != DefaultRcvBuf {
		t.Errorf("receive buffer %d (forced %v), want %d forced as root", st.RcvBuf, st.RcvBufForced, DefaultRcvBuf)
	}
}

// TestSendPacedByShapedLink: on a link shaped to 40 Mbit/s with a short queue, a burst of
// 4000 datagrams (5.8 MB, over a second of the link) all arrive: the queue's drops come back
// to the sender as ENOBUFS (IPV6_RECVERR), and it waits and sends again instead of losing
// them.
func TestSendPacedByShapedLink(t *testing.T) {
	netnstest.Require(t, "tc")
	const n = 4000
	a, b := vethPair(t, 1500)
	a.MustRun("tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", "40mbit", "burst", "32kb", "latency", "20ms")
	ifa, ifb := ifaceIn(t, a, "eth0"), ifaceIn(t, b, "eth0")
	g := DataGroup(ScopeSite, [32]byte{0x10, 0x5})
	r := listenIn(t, b, RecvConfig{Port: testPort, Ifaces: []net.Interface{ifb}})
	mustJoin(t, r, g)
	s := senderIn(t, a, SendConfig{Port: testPort, Ifaces: []net.Interface{ifa}})
	c := collect(t, r, n+16)
	ds := full1452(g, n)
	start := time.Now()
	mustSend(t, s, ifa, ds)
	got := c.until(t, "every datagram through the shaped link", func(got [][]byte) bool { return len(got) == n })
	// The queue does drop (and count) datagrams; each drop is reported and sent again.
	t.Logf("%d datagrams through a 40 Mbit/s link in %v; %s", len(got), time.Since(start),
		strings.Fields(a.MustRun("tc", "-s", "qdisc", "show", "dev", "eth0")))
}

// TestDropsCounted: with a tiny receive buffer and nobody reading, a burst overflows the
// socket; the drops show in Stats once a later datagram is read.
func TestDropsCounted(t *testing.T) {
	netnstest.Require(t)
	const n = 500
	a, b := vethPair(t, 1500)
	ifa, ifb := ifaceIn(t, a, "eth0"), ifaceIn(t, b, "eth0")
	g := DataGroup(ScopeSite, [32]byte{0xd})
	r := listenIn(t, b, RecvConfig{Port: testPort, Ifaces: []net.Interface{ifb}, RcvBuf: 1})
	mustJoin(t, r, g)
	t.Logf("tiny receive buffer granted: %d bytes", r.Stats().RcvBuf)
	s := senderIn(t, a, SendConfig{Port: testPort, Ifaces: []net.Interface{ifa}})
	mustSend(t, s, ifa, full1452(g, n))
	c := collect(t, r, n+16) // reading starts only now
	// The buffer holds about one datagram: once it is read, the queue is empty and a probe
	// fits. The kernel reports the drop count with the probe. A probe that still finds the
	// queue full is dropped too, so probe until one arrives.
	got := c.until(t, "the first datagram", func(got [][]byte) bool { return len(got) > 0 })
	probes := 0
	for probes < 25 && !bytes.HasPrefix(got[len(got)-1], []byte("probe")) {
		probes++
		mustSend(t, s, ifa, []Datagram{{g, fmt.Appendf(nil, "probe%d", probes)}})
		got = append(got, c.within(200*time.Millisecond)...)
	}
	if !bytes.HasPrefix(got[len(got)-1], []byte("probe")) {
		t.Fatalf("none of %d probes arrived", probes)
	}
	var burstRecv uint64
	for _, d := range got {
		if len(d) == 1452 {
			burstRecv++
		}
	}
	st := r.Stats()
	if st.Drops == 0 {
		t.Fatalf("no drops counted after %d datagrams into a %d-byte buffer (read %d)", n, st.RcvBuf, burstRecv)
	}
	if lost := n - burstRecv; st.Drops < lost || st.Drops > lost+uint64(probes-1) {
		t.Errorf("drops %d, want %d lost of the burst (+ up to %d probes)", st.Drops, lost, probes-1)
	}
	t.Logf("burst of %d: %d received, %d dropped; %d probes", n, burstRecv, st.Drops, probes)
}

// TestSegmentsRoundTrip: SendSegments with and without GSO, into receivers with and without
// GRO, delivers exactly the original datagrams, byte for byte, including a short last one, in
// order within each GSO train.
func TestSegmentsRoundTrip(t *testing.T) {
	netnstest.Require(t)
	a, b := vethPair(t, 1500)
	ifa, ifb := ifaceIn(t, a, "eth0"), ifaceIn(t, b, "eth0")
	for _, tc := range []struct {
		name         string
		noGSO, noGRO bool
		full, tail   int // segments of 1452 bytes, then a short one of tail bytes
	}{
		{"gso to gro", false, false, 100, 100},
		{"gso to gro exact multiple", false, false, 90, 0},
		{"gso to no gro", false, true, 100, 100},
		{"batches to gro", true, false, 100, 100},
		{"batches to no gro", true, true, 100, 100},
		{"single short datagram", false, false, 0, 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := DataGroup(ScopeSite, [32]byte{0x5e, byte(len(tc.name))})
			r := listenIn(t, b, RecvConfig{Port: testPort, Ifaces: []net.Interface{ifb}, NoGRO: tc.noGRO})
			mustJoin(t, r, g)
			s := senderIn(t, a, SendConfig{Port: testPort, Ifaces: []net.Interface{ifa}, NoGSO: tc.noGSO})
			c := collect(t, r, tc.full+16)
			var want [][]byte
			for i := range tc.full {
				want = append(want, payload1452(i))
			}
			if tc.tail > 0 {
				want = append(want, payload1452(tc.full)[:tc.tail])
			}
			buf := bytes.Join(want, nil)
			if err := s.SendSegments(ifa.Index, g, buf, 1452); err != nil {
				t.Fatal(err)
			}
			got := c.until(t, "every segment", func(got [][]byte) bool { return len(got) == len(want) })
			perTrain := min(maxGSOSegments, maxGSOBytes/1452)
			last := make(map[int]int) // train -> last index seen
			for _, d := range got {
				i := int(binary.BigEndian.Uint32(d))
				if i >= len(want) || !bytes.Equal(d, want[i]) {
					t.Fatalf("datagram with index %d (%d bytes) is not one that was sent", i, len(d))
				}
				train := i / perTrain
				if prev, ok := last[train]; ok && i != prev+1 {
					t.Errorf("datagram %d follows %d within a train", i, prev)
				}
				last[train] = i
			}
			st := r.Stats()
			switch {
			case !s.GSO() && !tc.noGSO:
				t.Logf("kernel lacks UDP GSO on this path: checked the batched fallback")
			case st.GRO != !tc.noGRO:
				t.Logf("kernel lacks UDP GRO: checked the unsplit path")
			case s.GSO() && st.GRO && tc.full > 0 && st.Trains == 0:
				t.Logf("kernel segmented the GSO trains before the socket: GRO split not exercised here")
			}
			t.Logf("sender GSO %v, receiver GRO %v, %d datagrams arrived in %d coalesced trains", s.GSO(), st.GRO, st.Datagrams, st.Trains)
			if st.Datagrams != uint64(len(want)) || st.Bytes != uint64(len(buf)) {
				t.Errorf("stats %+v, want %d datagrams, %d bytes", st, len(want), len(buf))
			}
		})
	}
}

// TestReceiverLifecycle: Read returns net.ErrClosed after Close (also when blocked), and
// Join and Leave refuse to work on a closed receiver.
func TestReceiverLifecycle(t *testing.T) {
	netnstest.Require(t)
	a, _ := vethPair(t, 1500)
	ifi := ifaceIn(t, a, "eth0")
	r := listenIn(t, a, RecvConfig{Ifaces: []net.Interface{ifi}})
	if got := r.LocalAddr().(*net.UDPAddr).Port; got != DefaultPort {
		t.Errorf("bound to port %d, want the default %d", got, DefaultPort)
	}
	g := StreamGroup(ScopeLink, "share")
	mustJoin(t, r, g)
	if j := r.Joined(); len(j) != 1 || j[0] != g {
		t.Errorf("Joined() = %v, want [%v]", j, g)
	}
	if err := r.Join(netip.MustParseAddr("fd00::1")); err == nil {
		t.Error("joining a unicast address succeeded")
	}
	readErr := make(chan error, 1)
	go func() { readErr <- r.Read(NewBatch(4)) }()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; err != net.ErrClosed {
		t.Errorf("blocked Read returned %v, want net.ErrClosed", err)
	}
	if err := r.Read(NewBatch(1)); err != net.ErrClosed {
		t.Errorf("Read after Close returned %v, want net.ErrClosed", err)
	}
	if err := r.Join(g); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Join after Close: %v", err)
	}
	if err := r.Leave(g); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Leave after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
