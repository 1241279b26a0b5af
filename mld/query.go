package mld

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// v2QueryLen is the length of an MLDv2 query without sources (RFC 3810 §5.1).
const v2QueryLen = 28

// A Query is a Multicast Listener Query: MLDv1 (RFC 2710 §3, 24 bytes) or MLDv2 (RFC 3810
// §5.1, 28 bytes or more). A General Query has the unspecified address as Group; a
// Multicast-Address-Specific Query names the group.
type Query struct {
	// Version is 1 for a 24-byte MLDv1 query and 2 for an MLDv2 query.
	Version int
	// MaxResponseDelay is the decoded Maximum Response Code.
	MaxResponseDelay time.Duration
	// Group is the queried multicast address, or the unspecified address (::) in a General Query.
	Group netip.Addr
	// SuppressRouterSide is the S flag (MLDv2 only).
	SuppressRouterSide bool
	// Robustness is the Querier's Robustness Variable, QRV (MLDv2 only; 0 when above 7).
	Robustness int
	// QueryInterval is the decoded Querier's Query Interval Code, QQIC (MLDv2 only).
	QueryInterval time.Duration
	// NumSources is the number of source addresses (MLDv2 only). Builders support none.
	NumSources int
	sources    []byte
}

// General reports whether q is a General Query (its Group is ::).
func (q Query) General() bool { return q.Group == netip.IPv6Unspecified() }

// Source returns the query's i-th source address (0 <= i < NumSources).
func (q Query) Source(i int) netip.Addr { return addr16(q.sources[16*i:]) }

// ParseQuery parses a Multicast Listener Query, given as the ICMPv6 message without the IPv6
// header. As RFC 3810 §8.1 requires, a 24-byte query is MLDv1, one of 28 bytes or more is
// MLDv2, and other lengths are errors. Bytes after the sources are ignored.
func ParseQuery(b []byte) (Query, error) {
	if len(b) < v1Len {
		return Query{}, fmt.Errorf("mld: query of %d bytes, want at least %d", len(b), v1Len)
	}
	if b[0] != TypeQuery {
		return Query{}, fmt.Errorf("mld: icmpv6 type %d is not an mld query", b[0])
	}
	q := Query{Version: 1, Group: addr16(b[8:24])}
	if len(b) == v1Len {
		q.MaxResponseDelay = time.Duration(be16(b[4:6])) * time.Millisecond
		return q, nil
	}
	if len(b) < v2QueryLen {
		return Query{}, fmt.Errorf("mld: query of %d bytes is neither mldv1 (%d) nor mldv2 (>= %d)", len(b), v1Len, v2QueryLen)
	}
	q.Version = 2
	q.MaxResponseDelay = time.Duration(decodeMaxRespCode(uint16(be16(b[4:6])))) * time.Millisecond
	q.SuppressRouterSide = b[24]&0x08 != 0
	q.Robustness = int(b[24] & 0x07)
	q.QueryInterval = time.Duration(decodeQQIC(b[25])) * time.Second
	q.NumSources = be16(b[26:28])
	end := v2QueryLen + 16*q.NumSources
	if end > len(b) {
		return Query{}, fmt.Errorf("mld: query with %d sources needs %d bytes, has %d", q.NumSources, end, len(b))
	}
	q.sources = b[v2QueryLen:end]
	return q, nil
}

// errQuerySources is returned by AppendQuery for a query with sources.
var errQuerySources = errors.New("mld: building queries with sources is not supported")

// AppendQuery appends the MLDv2 query q (RFC 3810 §5.1) to dst and returns the extended
// slice. q.Version is ignored; the checksum is left zero for the kernel to fill in, as it
// does on raw ICMPv6 sockets. Durations are rounded down to what the codes can express and
// clamped to their maxima; Robustness above 7 is sent as 0, as the RFC asks.
func AppendQuery(dst []byte, q Query) ([]byte, error) {
	if q.NumSources != 0 {
		return dst, errQuerySources
	}
	var g [16]byte
	switch {
	case !q.Group.IsValid():
		// The zero Addr stands for a General Query.
	case q.Group.Is6() && !q.Group.Is4In6() && (q.Group.IsUnspecified() || q.Group.IsMulticast()):
		g = q.Group.As16()
	default:
		return dst, fmt.Errorf("mld: query group %v is neither :: nor an ipv6 multicast address", q.Group)
	}
	var b [v2QueryLen]byte
	b[0] = TypeQuery
	binary.BigEndian.PutUint16(b[4:6], encodeMaxRespCode(q.MaxResponseDelay.Milliseconds()))
	copy(b[8:24], g[:])
	if q.SuppressRouterSide {
		b[24] |= 0x08
	}
	if q.Robustness > 0 && q.Robustness <= 7 {
		b[24] |= byte(q.Robustness)
	}
	b[25] = encodeQQIC(int64(q.QueryInterval / time.Second))
	return append(dst, b[:]...), nil
}
