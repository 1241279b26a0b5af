package mld

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ICMPv6 message types of MLD (RFC 2710 §3, RFC 3810 §5).
const (
	// TypeQuery is the Multicast Listener Query (MLDv1 and MLDv2).
	TypeQuery = 130
	// TypeV1Report is the MLDv1 Multicast Listener Report.
	TypeV1Report = 131
	// TypeV1Done is the MLDv1 Multicast Listener Done.
	TypeV1Done = 132
	// TypeV2Report is the MLDv2 Multicast Listener Report.
	TypeV2Report = 143
)

// v1Len is the length of every MLDv1 message and of an MLDv1 query (RFC 2710 §3).
const v1Len = 24

// V1Message is a parsed MLDv1 Report or Done (RFC 2710 §3).
type V1Message struct {
	// Type is TypeV1Report or TypeV1Done.
	Type uint8
	// Group is the multicast address being reported or left.
	Group netip.Addr
}

// ParseV1 parses an MLDv1 Report (131) or Done (132), given as the ICMPv6 message without the
// IPv6 header. Bytes past the 24 the message defines are ignored, as RFC 2710 §3 requires.
func ParseV1(b []byte) (V1Message, error) {
	if len(b) < v1Len {
		return V1Message{}, fmt.Errorf("mld: v1 message of %d bytes, want %d", len(b), v1Len)
	}
	if b[0] != TypeV1Report && b[0] != TypeV1Done {
		return V1Message{}, fmt.Errorf("mld: icmpv6 type %d is not an mldv1 report or done", b[0])
	}
	return V1Message{Type: b[0], Group: addr16(b[8:24])}, nil
}

// addr16 returns the IPv6 address in the first 16 bytes of b.
func addr16(b []byte) netip.Addr {
	return netip.AddrFrom16([16]byte(b[:16]))
}

// be16 reads a big-endian uint16.
func be16(b []byte) int { return int(binary.BigEndian.Uint16(b)) }
