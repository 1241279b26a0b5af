package wire

import "net/netip"

// EndLen is the length of an end packet (PROTOCOL.md §4.5).
const EndLen = HeaderLen + 16

// EndPacket marks the end of the cycle the sender granted a channel: nothing more follows on
// the group until the next join, so a receiver still missing data can act at once instead of
// waiting for silence (PROTOCOL.md §4.5).
type EndPacket struct {
	// Group is the channel's multicast group.
	Group netip.Addr
}

// AppendEnd appends p to dst as an end packet and returns the extended slice. Group must be
// an IPv6 address.
func AppendEnd(dst []byte, p EndPacket) []byte {
	dst = appendHeader(dst, TypeEnd)
	a := p.Group.As16()
	return append(dst, a[:]...)
}

// ParseEnd decodes the end packet b: exactly EndLen bytes naming a multicast group.
func ParseEnd(b []byte) (EndPacket, error) {
	if err := checkPacket(b, TypeEnd, EndLen); err != nil {
		return EndPacket{}, err
	}
	if len(b) != EndLen {
		return EndPacket{}, malformed("end packet: %d bytes, want %d", len(b), EndLen)
	}
	g := netip.AddrFrom16([16]byte(b[HeaderLen:EndLen]))
	if !g.IsMulticast() {
		return EndPacket{}, malformed("end packet: %v is not a multicast group", g)
	}
	return EndPacket{Group: g}, nil
}
