//go:build linux

package mld

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// Each test builds its own bridge rig (netnstest) without the bridge querier, so that our
// listener is the querier, and removes it at cleanup. Under LCSYNC_REQUIRE_NETNS=1 missing
// privileges fail the tests instead of skipping them.

func TestNetnsJoinAndLeave(t *testing.T) {
	netnstest.Require(t, "bridge")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1, NoQuerier: true})
	l := startListener(t, rig, netnsConfig())
	m := newMember(t, rig.Receivers[0])
	g := testGroup(1, 1)

	start := time.Now()
	m.join(t, g)
	if missing := waitJoins(l, []netip.Addr{g}, 5*time.Second); len(missing) > 0 {
		t.Fatalf("no Join event for %v within 5 s; stats %+v", g, l.Stats())
	}
	t.Logf("join -> Join event: %v", time.Since(start))
	if !l.Wanted(l.ifindex, g) {
		t.Fatal("joined group not wanted")
	}

	start = time.Now()
	m.leave(t, g)
	took := waitWanted(t, l, g, false, netnsLLQT+2*time.Second)
	t.Logf("leave -> not wanted: %v (LLQT %v)", time.Since(start), netnsLLQT)
	if took < netnsLLQT/2 {
		t.Errorf("dropped after %v, before the last-listener queries could be answered", took)
	}
	st := l.Stats()
	if st.LeavesConfirmed != 1 || st.QueriesSent < 3 {
		t.Errorf("stats: leaves confirmed %d, queries sent %d; want 1 and >= 3 (general + 2 specific)", st.LeavesConfirmed, st.QueriesSent)
	}
}

func TestNetnsTwoReceiversOneLeaves(t *testing.T) {
	netnstest.Require(t, "bridge")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2, NoQuerier: true})
	l := startListener(t, rig, netnsConfig())
	m1, m2 := newMember(t, rig.Receivers[0]), newMember(t, rig.Receivers[1])
	g := testGroup(2, 1)
	m1.join(t, g)
	m2.join(t, g)
	if missing := waitJoins(l, []netip.Addr{g}, 5*time.Second); len(missing) > 0 {
		t.Fatal("no Join event")
	}
	m1.leave(t, g)
	// Wait until the leave has been heard and its check has run to its end.
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Leaves == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("leave never heard; stats %+v", l.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(2 * netnsLLQT)
	if !l.Wanted(l.ifindex, g) {
		t.Fatalf("group dropped while receiver 2 still listens; stats %+v\nmdb:\n%s", l.Stats(), rig.MDB())
	}
	if st := l.Stats(); st.LeavesConfirmed != 0 {
		t.Errorf("%d leaves confirmed, want 0", st.LeavesConfirmed)
	}
	m2.leave(t, g)
	waitWanted(t, l, g, false, netnsLLQT+2*time.Second)
}

func TestNetnsVanishedReceiverExpires(t *testing.T) {
	netnstest.Require(t, "bridge")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1, NoQuerier: true})
	l := startListener(t, rig, netnsConfig())
	m := newMember(t, rig.Receivers[0])
	g := testGroup(3, 1)
	m.join(t, g)
	if missing := waitJoins(l, []netip.Addr{g}, 5*time.Second); len(missing) > 0 {
		t.Fatal("no Join event")
	}
	// Pull the cable: deleting the bridge port deletes the veth pair, and no leave is sent.
	gone := time.Now()
	rig.Bridge.MustRun("ip", "link", "del", "r1")
	time.Sleep(netnsMALI / 2)
	if !l.Wanted(l.ifindex, g) {
		t.Fatalf("group dropped %v after the receiver vanished, before MALI %v", time.Since(gone), netnsMALI)
	}
	waitWanted(t, l, g, false, 2*netnsMALI)
	t.Logf("vanished receiver's group dropped after %v (MALI %v)", time.Since(gone), netnsMALI)
	if st := l.Stats(); st.LeavesConfirmed != 0 {
		t.Errorf("%d leaves confirmed: none was sent", st.LeavesConfirmed)
	}
}

func TestNetnsThousandGroups(t *testing.T) {
	netnstest.Require(t, "bridge")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1, NoQuerier: true})
	l := startListener(t, rig, netnsConfig())
	const n, perSocket = 1000, 250
	groups := make([]netip.Addr, n)
	var m *member
	start := time.Now()
	for i := range groups {
		if i%perSocket == 0 {
			m = newMember(t, rig.Receivers[0])
		}
		groups[i] = testGroup(4, i)
		m.join(t, groups[i])
	}
	if missing := waitJoins(l, groups, 10*time.Second); len(missing) > 0 {
		t.Fatalf("%d of %d groups never reported; stats %+v", len(missing), n, l.Stats())
	}
	t.Logf("%d joins -> all Join events: %v", n, time.Since(start))
	for _, g := range groups {
		if !l.Wanted(l.ifindex, g) {
			t.Fatalf("%v not wanted", g)
		}
	}
	if st := l.Stats(); st.Verifications != 0 {
		t.Errorf("%d groups needed verification", st.Verifications)
	}
}

func TestNetnsRelearnAfterRestart(t *testing.T) {
	netnstest.Require(t, "bridge")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1, NoQuerier: true})
	first := startListener(t, rig, netnsConfig())
	m := newMember(t, rig.Receivers[0])
	groups := make([]netip.Addr, 20)
	for i := range groups {
		groups[i] = testGroup(5, i)
		m.join(t, groups[i])
	}
	if missing := waitJoins(first, groups, 5*time.Second); len(missing) > 0 {
		t.Fatalf("first listener missed %d groups", len(missing))
	}
	first.stop()

	// A fresh listener knows nothing; its startup General Query makes the receiver report
	// every group it is in within the Query Response Interval (1 s).
	start := time.Now()
	second := startListener(t, rig, netnsConfig())
	if missing := waitJoins(second, groups, 5*time.Second); len(missing) > 0 {
		t.Fatalf("restarted listener re-learned only %d of %d groups; stats %+v", len(groups)-len(missing), len(groups), second.Stats())
	}
	t.Logf("restart -> all %d groups re-learned from answers to our General Query: %v", len(groups), time.Since(start))
	st := second.Stats()
	if st.QueriesSent == 0 || st.Verifications != 0 {
		t.Errorf("queries sent %d, verifications %d", st.QueriesSent, st.Verifications)
	}
}

// TestNetnsWithBridgeQuerier runs on the standard rig, whose snooping bridge is an MLDv2
// querier too. Whichever of us wins the election (the log says which), a receiver leaving
// must not silence a group another receiver still listens to.
func TestNetnsWithBridgeQuerier(t *testing.T) {
	netnstest.Require(t, "bridge")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	l := startListener(t, rig, netnsConfig())
	m1, m2 := newMember(t, rig.Receivers[0]), newMember(t, rig.Receivers[1])
	g := testGroup(6, 1)
	m1.join(t, g)
	m2.join(t, g)
	if missing := waitJoins(l, []netip.Addr{g}, 5*time.Second); len(missing) > 0 {
		t.Fatalf("no Join event; stats %+v", l.Stats())
	}
	m1.leave(t, g)
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Leaves == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("leave never heard; stats %+v", l.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(2 * netnsLLQT)
	st := l.Stats()
	t.Logf("querier: us=%v, other=%v", st.Ifaces[0].Querier, st.Ifaces[0].OtherQuerier)
	if !l.Wanted(l.ifindex, g) || st.LeavesConfirmed != 0 {
		t.Fatalf("group dropped while receiver 2 still listens; stats %+v\nmdb:\n%s", st, rig.MDB())
	}
	m2.leave(t, g)
	waitWanted(t, l, g, false, netnsLLQT+2*time.Second)
}

// TestNetnsMLDv1Hosts forces the receivers into MLDv1 (as an MLDv1 querier on the link
// would): their reports go to the group address, which the packet socket hears.
func TestNetnsMLDv1Hosts(t *testing.T) {
	netnstest.Require(t, "bridge")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2, NoQuerier: true})
	for _, r := range rig.Receivers {
		r.MustRun("sysctl", "-qw", "net.ipv6.conf."+netnstest.Iface+".force_mld_version=1")
	}
	l := startListener(t, rig, netnsConfig())
	m1, m2 := newMember(t, rig.Receivers[0]), newMember(t, rig.Receivers[1])
	g := testGroup(8, 1)
	// Until the bridge has seen our queries for one response interval (1 s on the rig) it
	// floods reports, and an MLDv1 host that hears another's report for its group suppresses
	// its own done when it leaves (RFC 2710 §4). Wait, so that receiver 1's done is sent.
	time.Sleep(1500 * time.Millisecond)
	m1.join(t, g)
	if missing := waitJoins(l, []netip.Addr{g}, 5*time.Second); len(missing) > 0 {
		t.Fatalf("no Join event from an MLDv1 report; stats %+v", l.Stats())
	}
	m2.join(t, g)
	m1.leave(t, g)
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Leaves == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("MLDv1 done never heard; stats %+v", l.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	v1 := l.Stats().V1Reports
	time.Sleep(2 * netnsLLQT)
	if !l.Wanted(l.ifindex, g) {
		t.Fatalf("group dropped while MLDv1 receiver 2 still listens; stats %+v", l.Stats())
	}
	if st := l.Stats(); st.V1Reports == v1 {
		t.Errorf("MLDv1 receiver 2 did not answer our (MLDv2) query; stats %+v", st)
	}
	m2.leave(t, g)
	waitWanted(t, l, g, false, netnsLLQT+2*time.Second)
	if st := l.Stats(); st.V1Reports < 3 {
		t.Errorf("%d MLDv1 messages, want at least 2 reports and a done", st.V1Reports)
	}
}

// TestNetnsTwoListeners: two listeners in one network namespace (two servers on one host)
// both hear a report; neither holds anything exclusive, as MRT6_INIT would.
func TestNetnsTwoListeners(t *testing.T) {
	netnstest.Require(t, "bridge")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1, NoQuerier: true})
	l1 := startListener(t, rig, netnsConfig())
	l2 := startListener(t, rig, netnsConfig())
	g := testGroup(9, 1)
	newMember(t, rig.Receivers[0]).join(t, g)
	for i, l := range []*rigListener{l1, l2} {
		if missing := waitJoins(l, []netip.Addr{g}, 5*time.Second); len(missing) > 0 {
			t.Errorf("listener %d heard no report; stats %+v", i+1, l.Stats())
		}
	}
}

// TestNetnsSameHostMember: a socket on the listener's own host that joins a group is heard
// too, though its host's reports never arrive on the link (looped-back multicast, which the
// packet socket does not see).
func TestNetnsSameHostMember(t *testing.T) {
	netnstest.Require(t, "bridge")
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1, NoQuerier: true})
	l := startListener(t, rig, netnsConfig())
	g := testGroup(10, 1)
	newMember(t, rig.Sender).join(t, g)
	if missing := waitJoins(l, []netip.Addr{g}, 5*time.Second); len(missing) > 0 {
		t.Fatalf("no Join event for a member on the listener's own host; stats %+v", l.Stats())
	}
}
