package mld

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
)

// Header is what the IPv6 header (and its Hop-by-Hop Options header) of a received MLD
// message said: the facts RFC 3810 §5.2.13 and §7.4 check before a router acts on it.
type Header struct {
	// Ifindex is the interface the packet arrived on.
	Ifindex int
	// Src and Dst are the IPv6 source and destination addresses.
	Src, Dst netip.Addr
	// HopLimit is the hop limit the packet arrived with (MLD requires 1).
	HopLimit int
	// RouterAlert reports whether a Hop-by-Hop Options header carried the Router Alert
	// option with value 0 (MLD, RFC 2711).
	RouterAlert bool
}

// IPv6 constants used to take an MLD packet apart (RFC 8200 §3, §4.3; RFC 2711).
const (
	ipv6HeaderLen   = 40
	protoHopByHop   = 0
	protoICMPv6     = 58
	optPad1         = 0
	optRouterAlert  = 5
	routerAlertMLD  = 0
	icmpChecksumOff = 2
)

// Errors of decodePacket, told apart in Stats.
var (
	errNotMLDPacket = errors.New("mld: not an icmpv6 packet behind at most a hop-by-hop header")
	errBadChecksum  = errors.New("mld: bad icmpv6 checksum")
)

// decodePacket takes apart an IPv6 packet (from its first byte, no link-layer header) that
// carries an ICMPv6 message directly or behind one Hop-by-Hop Options header. It returns
// what the headers say and the ICMPv6 message, whose checksum it verifies (the packet
// socket, unlike a raw ICMPv6 socket, leaves that to us). The message aliases p.
func decodePacket(ifindex int, p []byte) (Header, []byte, error) {
	if len(p) < ipv6HeaderLen || p[0]>>4 != 6 {
		return Header{}, nil, fmt.Errorf("mld: %d-byte packet is not ipv6", len(p))
	}
	h := Header{
		Ifindex:  ifindex,
		HopLimit: int(p[7]),
		Src:      addr16(p[8:24]),
		Dst:      addr16(p[24:40]),
	}
	plen := int(binary.BigEndian.Uint16(p[4:6]))
	if plen == 0 || ipv6HeaderLen+plen > len(p) {
		return h, nil, fmt.Errorf("mld: ipv6 payload length %d, %d bytes present", plen, len(p)-ipv6HeaderLen)
	}
	payload := p[ipv6HeaderLen : ipv6HeaderLen+plen] // past the payload is link-layer padding
	next := p[6]
	if next == protoHopByHop {
		if len(payload) < 8 {
			return h, nil, errNotMLDPacket
		}
		hl := (int(payload[1]) + 1) * 8
		if hl > len(payload) {
			return h, nil, fmt.Errorf("mld: hop-by-hop header of %d bytes, %d present", hl, len(payload))
		}
		next = payload[0]
		h.RouterAlert = hasRouterAlert(payload[2:hl])
		payload = payload[hl:]
	}
	if next != protoICMPv6 {
		return h, nil, errNotMLDPacket
	}
	if icmpChecksum(h.Src, h.Dst, payload) != 0 {
		return h, nil, errBadChecksum
	}
	return h, payload, nil
}

// hasRouterAlert reports whether the options of a Hop-by-Hop header hold a Router Alert
// with value 0 (MLD).
func hasRouterAlert(opts []byte) bool {
	for len(opts) > 0 {
		if opts[0] == optPad1 {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || 2+int(opts[1]) > len(opts) {
			return false
		}
		if opts[0] == optRouterAlert && opts[1] == 2 && binary.BigEndian.Uint16(opts[2:4]) == routerAlertMLD {
			return true
		}
		opts = opts[2+int(opts[1]):]
	}
	return false
}

// icmpChecksum returns the one's complement sum over the ICMPv6 pseudo-header (RFC 8200
// §8.1) and msg, complemented: 0 for a message whose checksum field is right, or, for a
// message whose checksum field is zero, the value to put there.
func icmpChecksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	var tail [8]byte
	binary.BigEndian.PutUint32(tail[:4], uint32(len(msg)))
	tail[7] = protoICMPv6
	add(tail[:])
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// mldFilter is the classic BPF program attached to the packet socket. It runs on IPv6
// packets (no link-layer header) and passes only ICMPv6 queries, MLDv1 reports and dones
// and MLDv2 reports, directly after the IPv6 header or behind one Hop-by-Hop Options
// header: whatever else arrives on the link never leaves the kernel. Messages that pass are
// validated in full by State.HandlePacket, which counts those it drops.
func mldFilter() []bpf.Instruction {
	return []bpf.Instruction{
		/* 0 */ bpf.LoadAbsolute{Off: 6, Size: 1}, // next header
		/* 1 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: protoICMPv6, SkipTrue: 1},
		/* 2 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: protoHopByHop, SkipTrue: 2, SkipFalse: 13},
		/* 3 */ bpf.LoadConstant{Dst: bpf.RegX, Val: ipv6HeaderLen},
		/* 4 */ bpf.Jump{Skip: 6},
		/* 5 */ bpf.LoadAbsolute{Off: ipv6HeaderLen, Size: 1}, // the hop-by-hop header's next header
		/* 6 */ bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: protoICMPv6, SkipTrue: 9},
		/* 7 */ bpf.LoadAbsolute{Off: ipv6HeaderLen + 1, Size: 1}, // its length in 8 bytes, less 1
		/* 8 */ bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: ipv6HeaderLen/8 + 1},
		/* 9 */ bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 3},
		/* 10 */ bpf.TAX{},
		/* 11 */ bpf.LoadIndirect{Off: 0, Size: 1}, // the icmpv6 type
		/* 12 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: TypeQuery, SkipTrue: 4},
		/* 13 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: TypeV1Report, SkipTrue: 3},
		/* 14 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: TypeV1Done, SkipTrue: 2},
		/* 15 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: TypeV2Report, SkipTrue: 1},
		/* 16 */ bpf.RetConstant{Val: 0},
		/* 17 */ bpf.RetConstant{Val: 1 << 18},
	}
}
