package ifwatch

import (
	"net"
	"net/netip"
	"slices"
)

// linkState is one interface as a listing found it.
type linkState struct {
	ifi       net.Interface
	anyV6     bool       // it has an IPv6 address, tentative or not
	readyV6   bool       // it has an IPv6 address that has left DAD
	linkLocal netip.Addr // its first link-local address that has left DAD, if any
}

// addrInfo is one IPv6 address of an RTM_GETADDR dump.
type addrInfo struct {
	index int
	addr  netip.Addr
	ready bool // neither tentative nor failed DAD
}

// merge joins a listing of links with one of IPv6 addresses.
func merge(ifaces []net.Interface, addrs []addrInfo) map[int]linkState {
	m := make(map[int]linkState, len(ifaces))
	for _, ifi := range ifaces {
		m[ifi.Index] = linkState{ifi: ifi}
	}
	for _, a := range addrs {
		ls, ok := m[a.index]
		if !ok {
			continue
		}
		ls.anyV6 = true
		if a.ready {
			ls.readyV6 = true
			if !ls.linkLocal.IsValid() && a.addr.IsLinkLocalUnicast() {
				ls.linkLocal = a.addr
			}
		}
		m[a.index] = ls
	}
	return m
}

// candidate reports whether ifi is of a kind lcsync uses: up, multicast-capable, not loopback.
func candidate(ifi net.Interface) bool {
	return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 && ifi.Flags&net.FlagLoopback == 0
}

// diff compares a listing with the interfaces in use and returns the events that bring the
// set in use up to date, downs first, then ups, each in index order. An interface in use
// stays while it is a candidate with any IPv6 address; one not in use is added once it is a
// candidate with an address that has left DAD. An interface whose index was taken over by
// another name (or that was renamed) is dropped and added again.
func diff(inUse map[int]net.Interface, now map[int]linkState) []Event {
	var downs, ups []Event
	for idx, ifi := range inUse {
		ls, ok := now[idx]
		if !ok || ls.ifi.Name != ifi.Name || !candidate(ls.ifi) || !ls.anyV6 {
			downs = append(downs, Event{Iface: ifi})
		}
	}
	for idx, ls := range now {
		if cur, ok := inUse[idx]; ok && cur.Name == ls.ifi.Name {
			continue
		}
		if candidate(ls.ifi) && ls.readyV6 {
			ups = append(ups, Event{Iface: ls.ifi, Up: true, LinkLocal: ls.linkLocal})
		}
	}
	byIndex := func(a, b Event) int { return a.Iface.Index - b.Iface.Index }
	slices.SortFunc(downs, byIndex)
	slices.SortFunc(ups, byIndex)
	return append(downs, ups...)
}
