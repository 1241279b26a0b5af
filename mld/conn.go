package mld

import (
	"fmt"
	"net"
	"net/netip"
)

// packetConn is the pair of sockets a Listener reads MLD packets from and sends queries on.
// It has one reader (the Listener's read loop); sends are serialised by the Listener.
type packetConn interface {
	// ReadPacket reads one IPv6 packet carrying an MLD message (from the IPv6 header on, no
	// link-layer header) into b and reports the arrival interface. After Close it returns
	// an error wrapping net.ErrClosed.
	ReadPacket(b []byte) (n, ifindex int, err error)
	// ReadLocal reads into b the next ICMPv6 MLD message that this host sent itself (its
	// source is an address of the arrival interface), which the packet socket does not see,
	// and reports its IPv6 header. After Close it returns an error wrapping net.ErrClosed.
	ReadLocal(b []byte) (n int, h Header, err error)
	// SendQuery sends the ICMPv6 message b from src to dst on interface ifindex, with hop
	// limit 1 and the Router Alert option.
	SendQuery(ifindex int, src, dst netip.Addr, b []byte) error
	// AddLink starts hearing MLD on link l (all-multicast reception, the routers' groups
	// joined, its addresses known as this host's).
	AddLink(l Link) error
	// RemoveLink stops hearing MLD on link l; errors are ignored, as the link may be gone.
	RemoveLink(l Link)
	// Close closes the sockets, unblocking ReadPacket and ReadLocal.
	Close() error
}

// Well-known link-scope groups: General Queries go to all nodes (ff02::1); MLDv2 reports go
// to all MLDv2-capable routers (ff02::16, RFC 3810 §5.2.14), MLDv1 dones to all routers
// (ff02::2, RFC 2710 §3) and MLDv1 reports to the group itself.
func allNodes() netip.Addr        { return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01}) }
func allMLDv2Routers() netip.Addr { return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x16}) }
func allRouters() netip.Addr      { return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x02}) }

// resolveLinks turns interfaces into Links with their link-local addresses. With no
// interfaces it takes every interface that is up and multicast-capable.
func resolveLinks(ifaces []net.Interface) ([]Link, error) {
	if len(ifaces) == 0 {
		all, err := net.Interfaces()
		if err != nil {
			return nil, fmt.Errorf("mld: listing interfaces: %w", err)
		}
		for _, ifi := range all {
			if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 {
				ifaces = append(ifaces, ifi)
			}
		}
		if len(ifaces) == 0 {
			return nil, fmt.Errorf("mld: no interface is up and multicast-capable")
		}
	}
	links := make([]Link, 0, len(ifaces))
	for _, ifi := range ifaces {
		ll, err := linkLocal(ifi)
		if err != nil {
			return nil, err
		}
		links = append(links, Link{Index: ifi.Index, Name: ifi.Name, Addr: ll})
	}
	return links, nil
}

// linkLocal returns the first IPv6 link-local address of ifi, or the zero Addr if it has none.
func linkLocal(ifi net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("mld: addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Is6() && !ip.Is4In6() && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	return netip.Addr{}, nil
}
