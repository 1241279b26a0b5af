//go:build linux

package netnstest

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// RigConfig describes a bridge topology.
type RigConfig struct {
	// Receivers is the number of receiver namespaces (at least 1).
	Receivers int
	// MTU of every link; 0 means 1500.
	MTU int
	// NoSnooping turns MLD snooping off, so the bridge floods all multicast.
	NoSnooping bool
	// NoQuerier leaves the bridge without an MLD querier (the sender may then be the querier).
	NoQuerier bool
	// IPv4 adds IPv4 addresses and a multicast route (for peers such as udpcast).
	IPv4 bool
}

// Rig is one sender and N receivers attached to a Linux bridge, each in its own namespace.
//
//	sender      r1  ...  rN        each node: eth0, fd00:6c63::1 / ::1II, 10.99.0.1 / .1II
//	  |         |         |
//	 [s]-------[r1]-br0--[rN]      namespace Bridge: ports s, r1..rN
type Rig struct {
	Bridge    *NS
	Sender    *NS
	Receivers []*NS
	cfg       RigConfig
	impaired  bool
}

// Iface is the name of the rig interface inside every node namespace.
const Iface = "eth0"

// SenderAddr is the sender's static IPv6 address on the rig.
const SenderAddr = "fd00:6c63::1"

// ReceiverAddr returns receiver i's (1-based) static IPv6 address.
func ReceiverAddr(i int) string { return fmt.Sprintf("fd00:6c63::%d", 100+i) }

// NewRig builds the topology and waits until the bridge querier is in charge, so that
// snooping forwards groups only to the ports that joined them.
func NewRig(tb testing.TB, cfg RigConfig) *Rig {
	tb.Helper()
	if cfg.Receivers < 1 {
		tb.Fatalf("netnstest: rig needs at least one receiver, got %d", cfg.Receivers)
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	r := &Rig{cfg: cfg}
	r.Bridge = New(tb, "lcb")
	snoop := "1"
	if cfg.NoSnooping {
		snoop = "0"
	}
	// Timers are in centiseconds. The response interval must be set before the querier is
	// enabled, or the querier starts with the 10 s default (netns-rig-notes, gotcha 1).
	r.Bridge.MustRun("ip", "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0",
		"mcast_snooping", snoop, "mcast_mld_version", "2", "mcast_igmp_version", "3",
		"mcast_query_interval", "1250", "mcast_query_response_interval", "100",
		"mcast_startup_query_interval", "100", "mcast_startup_query_count", "3")
	r.Bridge.MustRun("ip", "link", "set", "br0", "mtu", strconv.Itoa(cfg.MTU), "up")
	r.Sender = r.node(tb, "lcs", "s", SenderAddr, "10.99.0.1")
	// The sender's port is a permanent multicast-router port: snooping forwards every MLD
	// report to it, which is how an lcsync server learns what receivers want.
	r.Bridge.MustRun("ip", "link", "set", "dev", "s", "type", "bridge_slave", "mcast_router", "2")
	for i := 1; i <= cfg.Receivers; i++ {
		port := "r" + strconv.Itoa(i)
		r.Receivers = append(r.Receivers, r.node(tb, "lcr", port, ReceiverAddr(i), fmt.Sprintf("10.99.0.%d", 100+i)))
	}
	if !cfg.NoQuerier && !cfg.NoSnooping {
		r.Bridge.MustRun("ip", "link", "set", "br0", "type", "bridge", "mcast_querier", "1")
		// Until the other-querier delay (one response interval) passes, the bridge floods.
		time.Sleep(1500 * time.Millisecond)
	}
	return r
}

// node creates a namespace with eth0 whose peer (named port) is enslaved to br0.
func (r *Rig) node(tb testing.TB, prefix, port, addr6, addr4 string) *NS {
	tb.Helper()
	n := New(tb, prefix)
	mtu := strconv.Itoa(r.cfg.MTU)
	n.MustRun("ip", "link", "add", Iface, "mtu", mtu, "type", "veth", "peer", "name", port, "mtu", mtu, "netns", r.Bridge.Name)
	r.Bridge.MustRun("ip", "link", "set", port, "master", "br0", "up")
	n.MustRun("ip", "addr", "add", addr6+"/64", "dev", Iface, "nodad")
	if r.cfg.IPv4 {
		n.MustRun("ip", "addr", "add", addr4+"/24", "brd", "+", "dev", Iface)
	}
	n.MustRun("ip", "link", "set", Iface, "up")
	if r.cfg.IPv4 {
		n.MustRun("ip", "route", "add", "224.0.0.0/4", "dev", Iface)
	}
	return n
}

// SetLoss drops pct percent (0..100, resolution 0.001) of the packets the bridge forwards to
// receiver i (1-based), independently per receiver, with an nftables random-drop rule. This
// kernel has no sch_netem, hence nftables.
func (r *Rig) SetLoss(tb testing.TB, i int, pct float64) {
	tb.Helper()
	if !r.impaired {
		r.Bridge.MustRun("nft", "add", "table", "bridge", "lc_impair")
		r.Bridge.MustRun("nft", "add", "chain", "bridge", "lc_impair", "downlink",
			"{ type filter hook forward priority 0; policy accept; }")
		r.impaired = true
	}
	threshold := strconv.Itoa(int(pct * 1000))
	r.Bridge.MustRun("nft", "add", "rule", "bridge", "lc_impair", "downlink",
		"oifname", "r"+strconv.Itoa(i), "numgen", "random", "mod", "100000", "<", threshold, "counter", "drop")
}

// SetRate shapes the bridge's egress towards a port ("s" for the sender, "r1".. for
// receivers) with tbf, e.g. rate "200mbit".
func (r *Rig) SetRate(tb testing.TB, port, rate string) {
	tb.Helper()
	r.Bridge.MustRun("tc", "qdisc", "replace", "dev", port, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "50ms")
}

// MDB returns the bridge's multicast database (`bridge mdb show`), for diagnostics.
func (r *Rig) MDB() string {
	out, _ := r.Bridge.Run("bridge", "mdb", "show")
	return out
}
