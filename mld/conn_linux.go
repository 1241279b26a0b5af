package mld

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// routerAlertHopOpts is the IPv6 hop-by-hop options header carried by our queries: a Router
// Alert option with value 0 (MLD, RFC 2711) and a PadN to 8 bytes. Linux hosts ignore MLD
// queries without it. The kernel fills in the next-header byte.
const routerAlertHopOpts = "\x00\x00\x05\x02\x00\x00\x01\x00"

// rawConn is the Linux pair of sockets: a packet socket (AF_PACKET) that hears every MLD
// message arriving on the listened links, whatever its destination, and a raw ICMPv6 socket
// that sends our queries and hears the MLD messages of this host itself (looped-back
// multicast, which packet sockets drop).
type rawConn struct {
	c   net.PacketConn
	p   *ipv6.PacketConn
	pkt *os.File        // the AF_PACKET socket, non-blocking, in the runtime poller
	raw syscall.RawConn // pkt's
	any bool            // pkt is bound to every interface (else to the one link)
	// closed is set by Close: a file closed under RawConn.Read reports "use of closed
	// file", which is not os.ErrClosed.
	closed atomic.Bool

	ownMu sync.RWMutex
	own   map[int]map[netip.Addr]bool // this host's addresses, by interface (ReadLocal only)
}

// openConn opens the packet socket, filtered to MLD messages and with all-multicast
// reception on every link, and the raw ICMPv6 socket for queries: hop limit 1, Router
// Alert, no multicast loopback, joined to ff02::16 and ff02::2 on every link. With growable
// set (or more than one link) the packet socket is bound to every interface, so that links
// can be added later.
func openConn(links []Link, growable bool) (packetConn, error) {
	bindAll := growable || len(links) != 1
	pkt, err := openPacketSocket(links, bindAll)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		pkt.Close()
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("%w: %w; %s", ErrPrivilege, err, privilegeHint)
		}
		return nil, fmt.Errorf("mld: opening raw icmpv6 socket: %w", err)
	}
	rc := &rawConn{c: c, p: ipv6.NewPacketConn(c), pkt: pkt, any: bindAll}
	if rc.raw, err = pkt.SyscallConn(); err != nil {
		rc.Close()
		return nil, fmt.Errorf("mld: packet socket: %w", err)
	}
	if err := rc.setup(links); err != nil {
		rc.Close()
		return nil, err
	}
	if rc.own, err = ownAddresses(links); err != nil {
		rc.Close()
		return nil, err
	}
	return rc, nil
}

// htons converts a 16-bit protocol number to network byte order, as sockaddr_ll wants it.
func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openPacketSocket opens a datagram packet socket (IPv6 packets without link-layer header),
// attaches mldFilter before it is bound to IPv6, so that nothing else is ever queued on it,
// and asks each link for all-multicast reception: MLDv1 reports go to the group address,
// which a network card would otherwise filter out. The membership ends with the socket.
func openPacketSocket(links []Link, bindAll bool) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w: packet socket: %w; %s", ErrPrivilege, err, privilegeHint)
		}
		return nil, fmt.Errorf("mld: opening packet socket: %w", err)
	}
	fail := func(what string, err error) (*os.File, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("mld: packet socket: %s: %w", what, err)
	}
	raw, err := bpf.Assemble(mldFilter())
	if err != nil {
		return fail("assembling the mld filter", err)
	}
	prog := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		prog[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
		&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}); err != nil {
		return fail("attaching the mld filter", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20); err != nil {
		return fail("setting the receive buffer", err)
	}
	ifindex := 0 // every link
	if !bindAll {
		ifindex = links[0].Index
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IPV6), Ifindex: ifindex}); err != nil {
		return fail("binding", err)
	}
	for _, l := range links {
		mr := unix.PacketMreq{Ifindex: int32(l.Index), Type: unix.PACKET_MR_ALLMULTI}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return fail("all-multicast reception on "+l.Name, err)
		}
	}
	return os.NewFile(uintptr(fd), "mld-packet"), nil
}

// setup applies the raw socket's options of openConn.
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

// ReadPacket implements packetConn. Packets the host sent itself are skipped.
func (rc *rawConn) ReadPacket(b []byte) (n, ifindex int, err error) {
	for {
		var from unix.Sockaddr
		var rerr error
		err = rc.raw.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), b, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			if errors.Is(err, os.ErrClosed) || rc.closed.Load() {
				return 0, 0, fmt.Errorf("mld: reading the packet socket: %w", net.ErrClosed)
			}
			return 0, 0, fmt.Errorf("mld: reading the packet socket: %w", err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype != unix.PACKET_OUTGOING {
			return n, ll.Ifindex, nil
		}
	}
}

// ReadLocal implements packetConn. Messages from other hosts, which the raw socket receives
// too, are skipped: the packet socket has them, with the headers the checks need. The
// kernel's own MLD messages always carry the Router Alert option, which this socket cannot
// show, so Header.RouterAlert is set.
func (rc *rawConn) ReadLocal(b []byte) (int, Header, error) {
	for {
		n, cm, from, err := rc.p.ReadFrom(b)
		if err != nil {
			return 0, Header{}, err
		}
		ip, ok := from.(*net.IPAddr)
		if !ok || cm == nil {
			continue
		}
		src, _ := netip.AddrFromSlice(ip.IP)
		dst, _ := netip.AddrFromSlice(cm.Dst)
		if !rc.isOwn(cm.IfIndex, src.WithZone("")) {
			continue
		}
		return n, Header{Ifindex: cm.IfIndex, Src: src, Dst: dst, HopLimit: cm.HopLimit, RouterAlert: true}, nil
	}
}

// isOwn reports whether a is an address interface ifindex had when it was added.
func (rc *rawConn) isOwn(ifindex int, a netip.Addr) bool {
	rc.ownMu.RLock()
	defer rc.ownMu.RUnlock()
	return rc.own[ifindex][a]
}

// AddLink implements packetConn.
func (rc *rawConn) AddLink(l Link) error {
	if !rc.any {
		return fmt.Errorf("mld: adding %s: the packet socket is bound to one interface", l.Name)
	}
	var serr error
	if err := rc.raw.Control(func(fd uintptr) {
		mr := unix.PacketMreq{Ifindex: int32(l.Index), Type: unix.PACKET_MR_ALLMULTI}
		serr = unix.SetsockoptPacketMreq(int(fd), unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr)
	}); err != nil {
		return fmt.Errorf("mld: packet socket: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("mld: packet socket: all-multicast reception on %s: %w", l.Name, serr)
	}
	ifi := &net.Interface{Index: l.Index, Name: l.Name}
	for _, g := range []netip.Addr{allMLDv2Routers(), allRouters()} {
		if err := rc.p.JoinGroup(ifi, &net.IPAddr{IP: g.AsSlice()}); err != nil {
			rc.RemoveLink(l)
			return fmt.Errorf("mld: joining %v on %s: %w", g, l.Name, err)
		}
	}
	own, err := ownAddresses([]Link{l})
	if err != nil {
		rc.RemoveLink(l)
		return err
	}
	rc.ownMu.Lock()
	rc.own[l.Index] = own[l.Index]
	rc.ownMu.Unlock()
	return nil
}

// RemoveLink implements packetConn. The kernel drops the memberships of an interface that
// is deleted by itself; dropping them here covers one that is only down.
func (rc *rawConn) RemoveLink(l Link) {
	_ = rc.raw.Control(func(fd uintptr) {
		mr := unix.PacketMreq{Ifindex: int32(l.Index), Type: unix.PACKET_MR_ALLMULTI}
		_ = unix.SetsockoptPacketMreq(int(fd), unix.SOL_PACKET, unix.PACKET_DROP_MEMBERSHIP, &mr)
	})
	ifi := &net.Interface{Index: l.Index, Name: l.Name}
	for _, g := range []netip.Addr{allMLDv2Routers(), allRouters()} {
		_ = rc.p.LeaveGroup(ifi, &net.IPAddr{IP: g.AsSlice()})
	}
	rc.ownMu.Lock()
	delete(rc.own, l.Index)
	rc.ownMu.Unlock()
}

// ownAddresses lists the addresses of each link, as ReadLocal recognises this host's own
// messages by them. They are listed once, when the socket is opened, in the network
// namespace it is opened in (the kernel sends MLD from the link-local address, which does not
// change while the link is up).
func ownAddresses(links []Link) (map[int]map[netip.Addr]bool, error) {
	own := map[int]map[netip.Addr]bool{}
	for _, l := range links {
		ifi, err := net.InterfaceByIndex(l.Index)
		if err != nil {
			return nil, fmt.Errorf("mld: interface %s: %w", l.Name, err)
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("mld: addresses of %s: %w", l.Name, err)
		}
		set := map[netip.Addr]bool{}
		for _, x := range addrs {
			if ipn, ok := x.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					set[ip.Unmap()] = true
				}
			}
		}
		own[l.Index] = set
	}
	return own, nil
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
func (rc *rawConn) Close() error {
	rc.closed.Store(true)
	var err error
	if rc.c != nil {
		err = rc.c.Close()
	}
	return errors.Join(err, rc.pkt.Close())
}
