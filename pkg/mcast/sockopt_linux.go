//go:build linux

package mcast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxOpts records what the kernel granted while a receiving socket was set up.
type rxOpts struct {
	gro    bool // UDP_GRO is on
	forced bool // SO_RCVBUFFORCE was accepted
}

// receiverControl returns the net.ListenConfig.Control hook of a receiving socket: it runs
// before bind, so SO_REUSEADDR and SO_REUSEPORT take effect.
func receiverControl(cfg *RecvConfig, got *rxOpts) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			err = setupReceiver(int(fd), cfg, got)
		})
		return errors.Join(cerr, err)
	}
}

func setupReceiver(fd int, cfg *RecvConfig, got *rxOpts) error {
	for _, o := range []struct {
		level, opt, val int
		name            string
	}{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR"},
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT"},
		// Without this, the socket would receive every group any socket on the host joined
		// on its port (Linux >= 4.20).
		{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0, "IPV6_MULTICAST_ALL=0 (needs Linux >= 4.20)"},
		{unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1, "SO_RXQ_OVFL"},
		// The destination and arrival interface of every datagram (RFC 3542 §6.1), so Read
		// can drop what was not sent to a group this socket joined: unicast to the host's
		// address and the port is refused there, not handed to the protocol.
		{unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.val); err != nil {
			return fmt.Errorf("mcast: setting %s: %w", o.name, err)
		}
	}
	forced, err := setBuffer(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, cfg.RcvBuf)
	if err != nil {
		return fmt.Errorf("mcast: setting receive buffer to %d bytes: %w", cfg.RcvBuf, err)
	}
	got.forced = forced
	if !cfg.NoGRO {
		// ENOPROTOOPT before Linux 5.0: run without GRO.
		got.gro = unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_GRO, 1) == nil
	}
	return nil
}

// setBuffer sets a socket buffer size with the FORCE option (which ignores the rmem_max and
// wmem_max limits but needs CAP_NET_ADMIN) and falls back to the plain option, which the
// kernel silently caps. It reports whether FORCE worked.
func setBuffer(fd, forceOpt, opt, size int) (bool, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, forceOpt, size); err == nil {
		return true, nil
	}
	return false, unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, size)
}

// recvBufSize returns the receive buffer the kernel granted: getsockopt(SO_RCVBUF) halved,
// because Linux doubles the requested size to leave room for bookkeeping.
func recvBufSize(c syscall.RawConn) (int, error) {
	var (
		v   int
		err error
	)
	if cerr := c.Control(func(fd uintptr) {
		v, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); cerr != nil {
		return 0, cerr
	}
	return v / 2, err
}

// queueFill returns how many bytes wait in the socket's receive queue and the buffer's limit,
// in the kernel's accounting (which counts per-datagram overhead too). SO_MEMINFO's first word
// is SK_MEMINFO_RMEM_ALLOC, so an int-sized read gets exactly it; the limit is SO_RCVBUF.
func queueFill(c syscall.RawConn) (used, limit int, err error) {
	var uerr, lerr error
	if cerr := c.Control(func(fd uintptr) {
		used, uerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MEMINFO)
		limit, lerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); cerr != nil {
		return 0, 0, cerr
	}
	if uerr != nil {
		return 0, 0, fmt.Errorf("mcast: SO_MEMINFO: %w", uerr)
	}
	if lerr != nil {
		return 0, 0, fmt.Errorf("mcast: SO_RCVBUF: %w", lerr)
	}
	return used, limit, nil
}

// senderControl returns the Control hook of a sending socket.
func senderControl(cfg *SendConfig) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			err = setupSender(int(fd), cfg)
		})
		return errors.Join(cerr, err)
	}
}

func setupSender(fd int, cfg *SendConfig) error {
	// A sending socket never wants group traffic, and must never fragment: a datagram larger
	// than the path MTU fails with EMSGSIZE instead (PROTOCOL.md §4).
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0); err != nil {
		return fmt.Errorf("mcast: setting IPV6_MULTICAST_ALL=0 (needs Linux >= 4.20): %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG, 1); err != nil {
		return fmt.Errorf("mcast: setting IPV6_DONTFRAG: %w", err)
	}
	// Report a full queue below the socket (a shaped or slow link's qdisc dropping) as
	// ENOBUFS, on which sends back off and retry, instead of losing the datagram silently.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1); err != nil {
		return fmt.Errorf("mcast: setting IPV6_RECVERR: %w", err)
	}
	if cfg.SndBuf > 0 {
		if _, err := setBuffer(fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, cfg.SndBuf); err != nil {
			return fmt.Errorf("mcast: setting send buffer to %d bytes: %w", cfg.SndBuf, err)
		}
	}
	return nil
}

// probeGSO reports whether the kernel knows the UDP_SEGMENT option (Linux >= 4.18).
func probeGSO(c syscall.RawConn) bool {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		_, err = unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT)
	}); cerr != nil {
		return false
	}
	return err == nil
}

// gsoControl returns a UDP_SEGMENT control message asking the kernel to cut the datagram
// into segSize-byte segments.
func gsoControl(segSize int) []byte {
	b := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(segSize))
	return b
}

// rxControl is what the control messages of one received datagram say.
type rxControl struct {
	drops    uint32 // the socket's drop counter when the datagram was queued
	hasDrops bool
	segSize  int // GRO segment size, 0 when the datagram was not coalesced
	// dst and ifindex are the datagram's destination address and arrival interface
	// (IPV6_PKTINFO); hasDst is false when the kernel attached none.
	dst     netip.Addr
	ifindex int
	hasDst  bool
}

// parseControl decodes the control messages of one received datagram. Unknown messages are
// skipped; a malformed buffer is an error.
func parseControl(oob []byte) (rxControl, error) {
	var rc rxControl
	for len(oob) >= unix.CmsgLen(0) {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return rxControl{}, fmt.Errorf("mcast: malformed control message: %w", err)
		}
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && len(data) >= 4:
			rc.drops, rc.hasDrops = binary.NativeEndian.Uint32(data), true
		case h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && len(data) >= 4:
			seg := int32(binary.NativeEndian.Uint32(data))
			if seg <= 0 {
				return rxControl{}, fmt.Errorf("mcast: malformed control message: GRO segment size %d", seg)
			}
			rc.segSize = int(seg)
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO:
			// struct in6_pktinfo: the 16-byte destination, then the interface index.
			if len(data) < unix.SizeofInet6Pktinfo {
				return rxControl{}, fmt.Errorf("mcast: malformed control message: IPV6_PKTINFO of %d bytes", len(data))
			}
			rc.dst = netip.AddrFrom16([16]byte(data[:16]))
			rc.ifindex = int(binary.NativeEndian.Uint32(data[16:20]))
			rc.hasDst = true
		}
		oob = rest
	}
	return rc, nil
}

// transient reports whether a send error means "try again later" rather than failure.
func transient(err error) bool {
	return errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)
}

// gsoRefused reports whether a UDP_SEGMENT send failed because the path cannot segment (for
// example a device without checksum offload), so the caller should fall back to batches.
func gsoRefused(err error) bool {
	return errors.Is(err, unix.EIO)
}

// isMsgTrunc reports whether recvmsg flags say the datagram did not fit the buffer.
func isMsgTrunc(flags int) bool { return flags&unix.MSG_TRUNC != 0 }
