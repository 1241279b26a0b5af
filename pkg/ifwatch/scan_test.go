package ifwatch

import (
	"net"
	"net/netip"
	"reflect"
	"testing"
)

func iface(idx int, name string, flags net.Flags) net.Interface {
	return net.Interface{Index: idx, Name: name, MTU: 1500, Flags: flags}
}

const upMcast = net.FlagUp | net.FlagMulticast | net.FlagRunning

func TestDiff(t *testing.T) {
	eth0 := iface(2, "eth0", upMcast)
	eth1 := iface(3, "eth1", upMcast)
	ll := netip.MustParseAddr("fe80::1")
	ready := func(ifi net.Interface) linkState {
		return linkState{ifi: ifi, anyV6: true, readyV6: true, linkLocal: ll}
	}
	tentative := func(ifi net.Interface) linkState { return linkState{ifi: ifi, anyV6: true} }
	for _, tc := range []struct {
		name  string
		inUse []net.Interface
		now   map[int]linkState
		want  []Event
	}{
		{"nothing changed", []net.Interface{eth0}, map[int]linkState{2: ready(eth0)}, nil},
		{"new interface ready", []net.Interface{eth0}, map[int]linkState{2: ready(eth0), 3: ready(eth1)},
			[]Event{{Iface: eth1, Up: true, LinkLocal: ll}}},
		{"new interface still in DAD", []net.Interface{eth0}, map[int]linkState{2: ready(eth0), 3: tentative(eth1)}, nil},
		{"in use, address tentative again: kept", []net.Interface{eth0}, map[int]linkState{2: tentative(eth0)}, nil},
		{"vanished", []net.Interface{eth0, eth1}, map[int]linkState{2: ready(eth0)}, []Event{{Iface: eth1}}},
		{"down", []net.Interface{eth0}, map[int]linkState{2: ready(iface(2, "eth0", net.FlagMulticast))}, []Event{{Iface: eth0}}},
		{"lost its IPv6 addresses", []net.Interface{eth0}, map[int]linkState{2: {ifi: eth0}}, []Event{{Iface: eth0}}},
		{"loopback never", nil, map[int]linkState{1: ready(iface(1, "lo", upMcast|net.FlagLoopback))}, nil},
		{"not multicast never", nil, map[int]linkState{4: ready(iface(4, "wg0", net.FlagUp))}, nil},
		{"renamed: dropped and added", []net.Interface{eth0}, map[int]linkState{2: ready(iface(2, "lan0", upMcast))},
			[]Event{{Iface: eth0}, {Iface: iface(2, "lan0", upMcast), Up: true, LinkLocal: ll}}},
		{"ups in index order after downs", []net.Interface{iface(9, "old", upMcast)},
			map[int]linkState{5: ready(iface(5, "b", upMcast)), 4: ready(iface(4, "a", upMcast))},
			[]Event{{Iface: iface(9, "old", upMcast)}, {Iface: iface(4, "a", upMcast), Up: true, LinkLocal: ll},
				{Iface: iface(5, "b", upMcast), Up: true, LinkLocal: ll}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := diff(inUseMap(tc.inUse), tc.now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("diff = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	eth0 := iface(2, "eth0", upMcast)
	got := merge([]net.Interface{eth0}, []addrInfo{
		{index: 2, addr: netip.MustParseAddr("fd00::1"), ready: false},
		{index: 2, addr: netip.MustParseAddr("fe80::9"), ready: false},
		{index: 2, addr: netip.MustParseAddr("fe80::2"), ready: true},
		{index: 7, addr: netip.MustParseAddr("fe80::7"), ready: true}, // no such link: ignored
	})
	want := map[int]linkState{2: {ifi: eth0, anyV6: true, readyV6: true, linkLocal: netip.MustParseAddr("fe80::2")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merge = %+v, want %+v", got, want)
	}
}
