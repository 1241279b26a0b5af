//go:build linux

package sender_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/netnstest"
	"github.com/lcsync/lcsync/pkg/sender"
)

// Shortened MLD timers for the tests: LLQT = 2 x 200 ms, MALI = 2 x 2 s + 1 s = 5 s.
func testMLDConfig(ifaces []net.Interface) mld.Config {
	c := mld.DefaultConfig()
	c.Ifaces = ifaces
	c.QueryInterval = 2 * time.Second
	c.QueryResponseInterval = time.Second
	c.LastListenerQueryInterval = 200 * time.Millisecond
	c.SweepInterval = 200 * time.Millisecond
	return c
}

const mali = 5 * time.Second

// server is an MLD-triggered sender running in the rig's sender namespace.
type server struct {
	s  *sender.Sender
	ix *index.Index
	l  *mld.Listener
}

// startServer serves a file of size bytes (block size 1 KiB) at rate bits/s.
func startServer(t testing.TB, rig *netnstest.Rig, size int, rate float64) *server {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "share")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	var l *mld.Listener
	var tx *mcast.SendConn
	if err := rig.Sender.Do(func() error {
		ifaces, err := mcast.Interfaces([]string{netnstest.Iface})
		if err != nil {
			return err
		}
		if l, err = mld.Listen(testMLDConfig(ifaces)); err != nil {
			return err
		}
		tx, err = mcast.NewSendConn(mcast.SendConfig{Ifaces: ifaces})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s, err := sender.New(sender.Config{Index: ix, Transport: tx, Trigger: l, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = l.Run(ctx) }()
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait(); tx.Close() })
	return &server{s: s, ix: ix, l: l}
}

// topGroup is the data channel of the whole file.
func (sv *server) topGroup() netip.Addr {
	return mcast.DataGroup(mcast.ScopeSite, sv.ix.Files[0].Tree.Top())
}

// listener is a plain multicast socket in a receiver namespace that counts datagrams.
type listener struct {
	r      *mcast.RecvConn
	mu     sync.Mutex
	count  int
	first  time.Time
	groups map[netip.Addr]int
	done   chan struct{}
}

func listen(t testing.TB, ns *netnstest.NS) *listener {
	t.Helper()
	var r *mcast.RecvConn
	if err := ns.Do(func() error {
		ifaces, err := mcast.Interfaces([]string{netnstest.Iface})
		if err != nil {
			return err
		}
		r, err = mcast.ListenRecv(mcast.RecvConfig{Ifaces: ifaces})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ln := &listener{r: r, groups: map[netip.Addr]int{}, done: make(chan struct{})}
	go func() {
		defer close(ln.done)
		b := mcast.NewBatch(64)
		for r.Read(b) == nil {
			ln.mu.Lock()
			if ln.count == 0 {
				ln.first = time.Now()
			}
			ln.count += b.Len()
			ln.mu.Unlock()
		}
	}()
	t.Cleanup(func() { r.Close(); <-ln.done })
	return ln
}

func (ln *listener) received() (int, time.Time) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return ln.count, ln.first
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// TestMLDSilenceWhenIdle: with nobody joined the server sends no data at all.
func TestMLDSilenceWhenIdle(t *testing.T) {
	netnstest.Require(t, "bridge", "nft", "tc")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	sv := startServer(t, rig, 64<<10, 0)
	_, tx0, _ := rig.Sender.LinkBytes(netnstest.Iface)
	time.Sleep(3 * time.Second)
	_, tx1, _ := rig.Sender.LinkBytes(netnstest.Iface)
	if st := sv.s.Stats(); st.Datagrams != 0 {
		t.Errorf("idle server sent %d datagrams", st.Datagrams)
	}
	// Only MLD queries and neighbour discovery may leave the server: a few hundred bytes.
	if tx1-tx0 > 4096 {
		t.Errorf("idle server link carried %d bytes in 3 s", tx1-tx0)
	}
	t.Logf("idle 3 s: %d bytes on the server's link (MLD queries)", tx1-tx0)
}

// TestMLDJoinLeave: a join brings data quickly; a leave stops it once MLD's query goes
// unanswered (LLQT, 400 ms here), and a second receiver keeps its channel when another
// leaves mid-way.
func TestMLDJoinLeave(t *testing.T) {
	netnstest.Require(t, "bridge", "nft", "tc")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	// 4 MiB at 16 Mbit/s: a cycle lasts about 2 s.
	sv := startServer(t, rig, 4<<20, 16e6)
	g := sv.topGroup()
	a, b := listen(t, rig.Receivers[0]), listen(t, rig.Receivers[1])

	start := time.Now()
	if err := a.r.Join(g); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { n, _ := a.received(); return n > 0 }) {
		t.Fatalf("no data within 5 s of joining; mdb:\n%s", rig.MDB())
	}
	_, first := a.received()
	t.Logf("join -> first datagram: %v", first.Sub(start))

	if err := b.r.Join(g); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := a.r.Leave(g); err != nil { // a leaves mid-cycle; b must keep getting data
		t.Fatal(err)
	}
	nb0, _ := b.received()
	time.Sleep(time.Second)
	if nb1, _ := b.received(); nb1 <= nb0 {
		t.Fatalf("the remaining receiver got nothing after the other left (%d -> %d)", nb0, nb1)
	}
	// b leaves: the server stops within LLQT + 1 s (once its last-listener query is unanswered).
	if err := b.r.Leave(g); err != nil {
		t.Fatal(err)
	}
	left := time.Now()
	if !waitFor(1400*time.Millisecond, func() bool { return sv.s.Stats().Active == 0 }) {
		t.Fatalf("still sending %v after the last leave: %+v", time.Since(left), sv.s.Stats())
	}
	t.Logf("last leave -> stop: %v", time.Since(left))
	d0 := sv.s.Stats().Datagrams
	time.Sleep(500 * time.Millisecond)
	if d1 := sv.s.Stats().Datagrams; d1 != d0 {
		t.Errorf("%d datagrams sent after stopping", d1-d0)
	}
}

// TestMLDRejoin: a receiver that leaves a channel whose cycle it already had and joins it
// again 20 ms later (as the receiver does to rejoin) gets a new cycle, though the server
// ignores repeats of a join for 1.5 s.
func TestMLDRejoin(t *testing.T) {
	netnstest.Require(t, "bridge", "nft", "tc")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	sv := startServer(t, rig, 64<<10, 0) // 64 datagrams: a cycle takes milliseconds
	g := sv.topGroup()
	a := listen(t, rig.Receivers[0])
	if err := a.r.Join(g); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { n, _ := a.received(); return n >= 64 && sv.s.Stats().Active == 0 }) {
		t.Fatalf("the first cycle did not complete: %+v", sv.s.Stats())
	}
	n0, _ := a.received()
	act0 := sv.s.Stats().Activations
	if err := a.r.Leave(g); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := a.r.Join(g); err != nil {
		t.Fatal(err)
	}
	rejoined := time.Now()
	// Within 1.4 s: a rejoin taken for a repeat of the first join would get its cycle only
	// once the 1.5 s repeat window is over.
	if !waitFor(1400*time.Millisecond, func() bool { n, _ := a.received(); return n >= n0+64 }) {
		n, _ := a.received()
		t.Fatalf("no new cycle within 1.4 s of the rejoin: %d datagrams after it, stats %+v", n-n0, sv.s.Stats())
	}
	t.Logf("rejoin -> new cycle complete: %v", time.Since(rejoined))
	if st := sv.s.Stats(); st.Activations != act0+1 {
		t.Errorf("%d activations for one rejoin", st.Activations-act0)
	}
}

// TestMLDManyGroups: 1000 groups joined at once all get their data.
func TestMLDManyGroups(t *testing.T) {
	netnstest.Require(t, "bridge", "nft", "tc")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	sv := startServer(t, rig, 1000*1024, 0)
	tr := sv.ix.Files[0].Tree
	// Four sockets of 250 groups each (each socket's membership list is bounded by optmem).
	var lns []*listener
	for s := range 4 {
		ln := listen(t, rig.Receivers[0])
		for i := s * 250; i < (s+1)*250; i++ {
			if err := ln.r.Join(mcast.DataGroup(mcast.ScopeSite, tr.Leaf(i))); err != nil {
				t.Fatalf("join %d: %v", i, err)
			}
		}
		lns = append(lns, ln)
	}
	// Each leaf channel is one block: 1 datagram of 1 KiB.
	ok := waitFor(10*time.Second, func() bool {
		total := 0
		for _, ln := range lns {
			n, _ := ln.received()
			total += n
		}
		return total >= 1000
	})
	if !ok {
		t.Fatalf("not every group got its data: stats %+v", sv.s.Stats())
	}
	if st := sv.s.Stats(); st.Activations < 1000 {
		t.Errorf("only %d channels activated for 1000 joins", st.Activations)
	}
}

// TestMLDReceiverVanishes: a receiver that disappears without leaving stops the server only
// after the Multicast Address Listening Interval.
func TestMLDReceiverVanishes(t *testing.T) {
	netnstest.Require(t, "bridge", "nft", "tc")
	// The server's listener is the link's querier, so the listening interval is its own MALI:
	// a querier with a longer Query Interval (the bridge's 12.5 s) makes a non-querier adopt
	// that one (RFC 3810 §9.2, §9.4: 25 s), which CI's runs met when the bridge won the
	// election.
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1, NoQuerier: true})
	// 16 MiB at 8 Mbit/s: one cycle lasts much longer than MALI.
	sv := startServer(t, rig, 16<<20, 8e6)
	ln := listen(t, rig.Receivers[0])
	if err := ln.r.Join(sv.topGroup()); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { n, _ := ln.received(); return n > 0 }) {
		t.Fatal("no data")
	}
	// Pull the cable: delete the receiver's bridge port. No leave is ever sent. The link goes
	// at some moment while the command runs, which may take a while on a machine busy creating
	// and deleting namespaces: the early bound counts from the command's start, the late one
	// from its end.
	start := time.Now()
	rig.Bridge.MustRun("ip", "link", "del", "r1")
	gone := time.Now()
	if waitFor(time.Until(start.Add(mali-time.Second)), func() bool { return sv.s.Stats().Active == 0 }) {
		t.Fatalf("stopped %v after the cable was pulled, before the listening interval", time.Since(start))
	}
	// MALI, then the query that confirms the group is gone (last listener query time), then
	// the channel's next Wanted check; with room for a busy machine (alone it stops 0.5 s after
	// MALI).
	if !waitFor(time.Until(gone.Add(mali+5*time.Second)), func() bool { return sv.s.Stats().Active == 0 }) {
		t.Fatalf("still sending %v after the receiver vanished (deleting its link took %v); links %+v",
			time.Since(gone), gone.Sub(start), sv.l.Stats().Ifaces)
	}
	t.Logf("vanished receiver -> stop: %v (MALI %v; deleting the link took %v)", time.Since(gone), mali, gone.Sub(start))
}

// BenchmarkJoinToData measures, on the rig, the time from a receiver's join to the first
// datagram of the channel (the kernel's MLD report delay, the listener, the sender), and
// reports percentiles. Run with a fixed count: -bench JoinToData -benchtime 100x.
func BenchmarkJoinToData(b *testing.B) {
	netnstest.Require(b, "bridge", "nft", "tc")
	rig := netnstest.NewRig(b, netnstest.RigConfig{Receivers: 1})
	sv := startServer(b, rig, 1<<20, 0) // 1024 distinct leaf channels
	tr := sv.ix.Files[0].Tree
	ln := listen(b, rig.Receivers[0])
	var lat []time.Duration
	i := 0
	for b.Loop() {
		g := mcast.DataGroup(mcast.ScopeSite, tr.Leaf(i%tr.Shape().Blocks()))
		i++
		n0, _ := ln.received()
		start := time.Now()
		if err := ln.r.Join(g); err != nil {
			b.Fatal(err)
		}
		if !waitForFast(2*time.Second, func() bool { n, _ := ln.received(); return n > n0 }) {
			b.Fatal(errNoData)
		}
		lat = append(lat, time.Since(start))
		_ = ln.r.Leave(g)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.9), "p90-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func waitForFast(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(200 * time.Microsecond)
	}
	return cond()
}

var errNoData = errors.New("no data within 2 s of a join")

// TestMLDv1AndV2HostsBothFetch: a host in MLDv1 mode (as behind an MLDv1 querier), whose
// reports go to the group address itself, and an MLDv2 host on the same link both get the
// channel, and the server falls silent once both have left.
func TestMLDv1AndV2HostsBothFetch(t *testing.T) {
	netnstest.Require(t, "bridge", "nft", "tc")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	rig.Receivers[0].MustRun("sysctl", "-qw", "net.ipv6.conf."+netnstest.Iface+".force_mld_version=1")
	// 4 MiB at 16 Mbit/s: a cycle lasts about 2 s, longer than the test's steps.
	sv := startServer(t, rig, 4<<20, 16e6)
	g := sv.topGroup()
	v1, v2 := listen(t, rig.Receivers[0]), listen(t, rig.Receivers[1])
	if err := v1.r.Join(g); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { n, _ := v1.received(); return n > 0 }) {
		t.Fatalf("the MLDv1 host got nothing within 5 s of joining: stats %+v; mdb:\n%s", sv.s.Stats(), rig.MDB())
	}
	if err := v2.r.Join(g); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { n, _ := v2.received(); return n > 0 }) {
		t.Fatalf("the MLDv2 host got nothing within 5 s of joining: stats %+v", sv.s.Stats())
	}
	n1, _ := v1.received()
	time.Sleep(500 * time.Millisecond)
	if m1, _ := v1.received(); m1 <= n1 {
		t.Fatalf("the MLDv1 host stopped getting data once the MLDv2 host joined (%d -> %d)", n1, m1)
	}
	if err := v1.r.Leave(g); err != nil {
		t.Fatal(err)
	}
	if err := v2.r.Leave(g); err != nil {
		t.Fatal(err)
	}
	left := time.Now()
	if !waitFor(3*time.Second, func() bool { return sv.s.Stats().Active == 0 }) {
		t.Fatalf("still sending %v after both left: %+v", time.Since(left), sv.s.Stats())
	}
	t.Logf("both left -> stop: %v", time.Since(left))
	d0 := sv.s.Stats().Datagrams
	time.Sleep(500 * time.Millisecond)
	if d1 := sv.s.Stats().Datagrams; d1 != d0 {
		t.Errorf("%d datagrams sent after stopping", d1-d0)
	}
}

// linkLocal returns the link-local address of eth0 in ns.
func linkLocal(t testing.TB, ns *netnstest.NS) netip.Addr {
	t.Helper()
	var ll netip.Addr
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(netnstest.Iface)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.IsLinkLocalUnicast() {
					ll = ip
					return nil
				}
			}
		}
		return errors.New("no link-local address")
	}); err != nil {
		t.Fatal(err)
	}
	return ll
}

// spoofer sends well-formed MLDv2 reports from ns with a source address it takes from another
// host (as any host on a link can).
type spoofer struct {
	p   *ipv6.PacketConn
	c   net.PacketConn
	src netip.Addr
	ifi *net.Interface
}

// newSpoofer gives ns's eth0 the address src too and opens a raw ICMPv6 socket that sends MLD
// reports from it, with hop limit 1 and a Router Alert.
func newSpoofer(t testing.TB, ns *netnstest.NS, src netip.Addr) *spoofer {
	t.Helper()
	ns.MustRun("ip", "addr", "add", src.String()+"/64", "dev", netnstest.Iface, "nodad")
	sp := &spoofer{src: src}
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(netnstest.Iface)
		if err != nil {
			return err
		}
		sp.ifi = ifi
		if sp.c, err = net.ListenPacket("ip6:ipv6-icmp", "::"); err != nil {
			return err
		}
		sp.p = ipv6.NewPacketConn(sp.c)
		if err := sp.p.SetMulticastHopLimit(1); err != nil {
			return err
		}
		sc, err := sp.c.(*net.IPConn).SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := sc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.IPPROTO_IPV6, unix.IPV6_HOPOPTS, "\x00\x00\x05\x02\x00\x00\x01\x00")
		}); err != nil {
			return err
		}
		return serr
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.c.Close() })
	return sp
}

// leave sends an MLDv2 report with one CHANGE_TO_INCLUDE record and no sources for g (a
// leave) to ff02::16; the kernel fills in the checksum.
func (sp *spoofer) leave(g netip.Addr) error {
	return sp.leaveTo(g, netip.MustParseAddr("ff02::16"), 1)
}

// leaveTo is leave sent to dst with the given hop limit.
func (sp *spoofer) leaveTo(g, dst netip.Addr, hops int) error {
	msg := make([]byte, 8+20)
	msg[0] = mld.TypeV2Report
	msg[7] = 1 // one record
	msg[8] = 3 // CHANGE_TO_INCLUDE_MODE
	a := g.As16()
	copy(msg[12:], a[:])
	cm := &ipv6.ControlMessage{HopLimit: hops, IfIndex: sp.ifi.Index, Src: sp.src.AsSlice()}
	_, err := sp.p.WriteTo(msg, cm, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

// TestMLDOffLinkLeavesIgnored: leaves for a receiver's channel that break RFC 3810 §5.2.13 —
// from a global address, with hop limit 2 (both what a host beyond the link would send), or
// unicast to the server — are counted and dropped: they do not even start the last-listener
// query a valid leave starts, and the receiver keeps getting data.
func TestMLDOffLinkLeavesIgnored(t *testing.T) {
	netnstest.Require(t, "bridge", "nft", "tc")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	// 8 MiB at 16 Mbit/s: a cycle lasts about 4 s.
	sv := startServer(t, rig, 8<<20, 16e6)
	g := sv.topGroup()
	victim := listen(t, rig.Receivers[0])
	global := newSpoofer(t, rig.Receivers[1], netip.MustParseAddr("fd00:6c63::98"))
	ll := newSpoofer(t, rig.Receivers[1], linkLocal(t, rig.Receivers[0])) // the victim's own address
	if err := victim.r.Join(g); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { n, _ := victim.received(); return n > 0 }) {
		t.Fatal("no data")
	}
	before := sv.l.Stats()
	routers := netip.MustParseAddr("ff02::16")
	for _, try := range []struct {
		name string
		sp   *spoofer
		dst  netip.Addr
		hops int
	}{
		{"from a global address", global, routers, 1},
		{"hop limit 2", ll, routers, 2},
		{"unicast to the server", ll, netip.MustParseAddr("fd00:6c63::1"), 1},
	} {
		n0, _ := victim.received()
		for range 8 {
			if err := try.sp.leaveTo(g, try.dst, try.hops); err != nil {
				t.Fatalf("%s: %v", try.name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n1, _ := victim.received(); n1 <= n0 {
			t.Fatalf("%s: the receiver got nothing while leaves were forged (%d -> %d)", try.name, n0, n1)
		}
	}
	after := sv.l.Stats()
	if after.Leaves != before.Leaves || after.QueriesSent > before.QueriesSent+2 {
		t.Errorf("off-link leaves were applied: leaves %d -> %d, queries sent %d -> %d", before.Leaves, after.Leaves,
			before.QueriesSent, after.QueriesSent)
	}
	if after.BadSource <= before.BadSource || after.BadHopLimit <= before.BadHopLimit || after.BadDestination <= before.BadDestination {
		t.Errorf("off-link leaves not counted: source %d -> %d, hop limit %d -> %d, destination %d -> %d",
			before.BadSource, after.BadSource, before.BadHopLimit, after.BadHopLimit, before.BadDestination, after.BadDestination)
	}
	if st := sv.s.Stats(); st.FastLeaves != 0 || st.Active == 0 {
		t.Errorf("stats after off-link leaves: %+v", st)
	}
}

// TestMLDSpoofedLeavesDoNotStopAFetch: a host that sends leaves for a receiver's channel
// every 50 ms, from that receiver's own link-local address, does not stop the channel: the
// last-listener query that follows each leave is answered by the receiver.
func TestMLDSpoofedLeavesDoNotStopAFetch(t *testing.T) {
	netnstest.Require(t, "bridge", "nft", "tc")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	// 8 MiB at 16 Mbit/s: a cycle lasts about 4 s.
	sv := startServer(t, rig, 8<<20, 16e6)
	g := sv.topGroup()
	victim := listen(t, rig.Receivers[0])
	attacker := newSpoofer(t, rig.Receivers[1], linkLocal(t, rig.Receivers[0]))
	if err := victim.r.Join(g); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { n, _ := victim.received(); return n > 0 }) {
		t.Fatal("no data")
	}
	for w := range 5 { // 5 windows of 400 ms, 8 forged leaves each
		n0, _ := victim.received()
		for range 8 {
			if err := attacker.leave(g); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n1, _ := victim.received(); n1 <= n0 {
			t.Fatalf("window %d: the receiver got nothing while leaves were forged in its name (%d -> %d); stats %+v",
				w, n0, n1, sv.s.Stats())
		}
	}
	if st := sv.s.Stats(); st.FastLeaves != 0 || st.Active == 0 {
		t.Errorf("stats after forged leaves: %+v", st)
	}
}

// join sends an MLDv2 report with one CHANGE_TO_EXCLUDE record and no sources for g (a
// join) to dst with the given hop limit.
func (sp *spoofer) join(g, dst netip.Addr, hops int) error {
	msg := make([]byte, 8+20)
	msg[0] = mld.TypeV2Report
	msg[7] = 1 // one record
	msg[8] = 4 // CHANGE_TO_EXCLUDE_MODE
	a := g.As16()
	copy(msg[12:], a[:])
	cm := &ipv6.ControlMessage{HopLimit: hops, IfIndex: sp.ifi.Index, Src: sp.src.AsSlice()}
	_, err := sp.p.WriteTo(msg, cm, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

// TestMLDInvalidReportsIgnored: well-formed joins of the share's stream channel that break
// RFC 3810 §5.2.13 — sent unicast to the server, from a global address, or with hop limit 2
// — start nothing; the same join sent as the RFC requires does.
func TestMLDInvalidReportsIgnored(t *testing.T) {
	netnstest.Require(t, "bridge", "nft", "tc")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	sv := startServer(t, rig, 64<<10, 0)
	g := sv.topGroup()
	server := netip.MustParseAddr("fd00:6c63::1")
	routers := netip.MustParseAddr("ff02::16")
	global := newSpoofer(t, rig.Receivers[0], netip.MustParseAddr("fd00:6c63::99"))
	ll := &spoofer{p: global.p, c: global.c, ifi: global.ifi, src: linkLocal(t, rig.Receivers[0])}
	for _, try := range []struct {
		name string
		sp   *spoofer
		dst  netip.Addr
		hops int
	}{
		{"unicast to the server", ll, server, 1},
		{"from a global address", global, routers, 1},
		{"hop limit 2", ll, routers, 2},
	} {
		for range 3 {
			if err := try.sp.join(g, try.dst, try.hops); err != nil {
				t.Fatalf("%s: %v", try.name, err)
			}
		}
		time.Sleep(200 * time.Millisecond)
		if st := sv.s.Stats(); st.Activations != 0 {
			t.Fatalf("%s: a channel started: %+v", try.name, st)
		}
	}
	if err := ll.join(g, routers, 1); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, func() bool { return sv.s.Stats().Activations > 0 }) {
		t.Fatalf("a valid join started nothing: %+v", sv.s.Stats())
	}
}
