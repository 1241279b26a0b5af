package mld

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// routerAlertHopOpts is the IPv6 hop-by-hop options header carried by our queries: a Router
// Alert option with value 0 (MLD, RFC 2711) and a PadN to 8 bytes. Linux hosts ignore MLD
// queries without it. The kernel fills in the next-header byte.
const routerAlertHopOpts = "\x00\x00\x05\x02\x00\x00\x01\x00"

// rawConn is the Linux raw ICMPv6 socket.
type rawConn struct {
	c net.PacketConn
	p *ipv6.PacketConn
}

// openConn opens the raw ICMPv6 socket, accepting only MLD messages, asking for the arrival
// interface, addresses and hop limit of each, joined to ff02::16 and ff02::2 on every link,
// and set up to send queries: hop limit 1, Router Alert, no multicast loopback.
func openConn(links []Link, v1 bool) (packetConn, error) {
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("%w: %w; %s", ErrPrivilege, err, privilegeHint)
		}
		return nil, fmt.Errorf("mld: opening raw icmpv6 socket: %w", err)
	}
	rc := &rawConn{c: c, p: ipv6.NewPacketConn(c)}
	if err := rc.setup(links); err != nil {
		c.Close()
		return nil, err
	}
	if v1 {
		if err := rc.setMRoute(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return rc, nil
}

// setup applies the socket options of openConn.
func (rc *rawConn) setup(links []Link) error {
	var f ipv6.ICMPFilter
	f.SetAll(true)
	for _, t := range []ipv6.ICMPType{
		ipv6.ICMPTypeMulticastListenerQuery,
		ipv6.ICMPTypeMulticastListenerReport,
		ipv6.ICMPTypeMulticastListenerDone,
		ipv6.ICMPTypeVersion2MulticastListenerReport,
	} {
		f.Accept(t)
	}
	if err := rc.p.SetICMPFilter(&f); err != nil {
		return fmt.Errorf("mld: setting icmpv6 filter: %w", err)
	}
	cf := ipv6.FlagInterface | ipv6.FlagDst | ipv6.FlagSrc | ipv6.FlagHopLimit
	if err := rc.p.SetControlMessage(cf, true); err != nil {
		return fmt.Errorf("mld: asking for control messages: %w", err)
	}
	if err := rc.p.SetMulticastLoopback(false); err != nil {
		return fmt.Errorf("mld: turning multicast loopback off: %w", err)
	}
	if err := rc.p.SetMulticastHopLimit(1); err != nil {
		return fmt.Errorf("mld: setting multicast hop limit: %w", err)
	}
	if err := rc.setHopOpts(); err != nil {
		return err
	}
	for _, l := range links {
		ifi := &net.Interface{Index: l.Index, Name: l.Name}
		for _, g := range []netip.Addr{allMLDv2Routers(), allRouters()} {
			if err := rc.p.JoinGroup(ifi, &net.IPAddr{IP: g.AsSlice()}); err != nil {
				return fmt.Errorf("mld: joining %v on %s: %w", g, l.Name, err)
			}
		}
	}
	return nil
}

// setHopOpts makes every packet sent on the socket carry the Router Alert option.
func (rc *rawConn) setHopOpts() error {
	sc, err := rc.c.(*net.IPConn).SyscallConn()
	if err != nil {
		return fmt.Errorf("mld: raw socket: %w", err)
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_IPV6, unix.IPV6_HOPOPTS, routerAlertHopOpts)
	}); err != nil {
		return fmt.Errorf("mld: raw socket: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("mld: setting the router alert option (IPV6_HOPOPTS): %w", serr)
	}
	return nil
}

// mrt6Init is MRT6_INIT from linux/mroute6.h (not in x/sys/unix).
const mrt6Init = 200

// setMRoute makes the socket the multicast routing socket, so that the kernel delivers MLD
// messages sent to groups of site scope or wider (MLDv1 reports) to it.
func (rc *rawConn) setMRoute() error {
	sc, err := rc.c.(*net.IPConn).SyscallConn()
	if err != nil {
		return fmt.Errorf("mld: raw socket: %w", err)
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, mrt6Init, 1)
	}); err != nil {
		return fmt.Errorf("mld: raw socket: %w", err)
	}
	switch {
	case errors.Is(serr, unix.EADDRINUSE):
		return fmt.Errorf("mld: receiving mldv1 reports (MRT6_INIT): another multicast routing socket is open in this network namespace: %w", serr)
	case serr != nil:
		return fmt.Errorf("mld: receiving mldv1 reports (MRT6_INIT): %w", serr)
	}
	return nil
}

// ReadMessage implements packetConn.
func (rc *rawConn) ReadMessage(b []byte) (n, ifindex int, src netip.Addr, hopLimit int, err error) {
	n, cm, from, err := rc.p.ReadFrom(b)
	if err != nil {
		return 0, 0, netip.Addr{}, 0, err
	}
	if ip, ok := from.(*net.IPAddr); ok {
		src, _ = netip.AddrFromSlice(ip.IP)
	}
	hopLimit = -1 // unknown: rejected by the State
	if cm != nil {
		ifindex, hopLimit = cm.IfIndex, cm.HopLimit
	}
	return n, ifindex, src, hopLimit, nil
}

// SendQuery implements packetConn.
func (rc *rawConn) SendQuery(ifindex int, src, dst netip.Addr, b []byte) error {
	cm := &ipv6.ControlMessage{HopLimit: 1, IfIndex: ifindex, Src: src.AsSlice()}
	if _, err := rc.p.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return fmt.Errorf("mld: sending query to %v: %w", dst, err)
	}
	return nil
}

// Close implements packetConn.
func (rc *rawConn) Close() error { return rc.c.Close() }
