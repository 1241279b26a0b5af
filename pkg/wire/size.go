package wire

import "fmt"

// Datagram sizes (PROTOCOL.md §4).
const (
	// DefaultMTU is the path MTU assumed when none is configured (--mtu).
	DefaultMTU = 1500
	// MinMTU is the smallest MTU an IPv6 link may have (RFC 8200 §5).
	MinMTU = 1280
	// MaxMTU is the largest MTU accepted; a UDP datagram cannot be larger (RFC 768).
	MaxMTU = 65535
	// IPv6UDPOverhead is the size of the fixed IPv6 header (40 bytes) plus the UDP header
	// (8 bytes) that every datagram pays out of the MTU.
	IPv6UDPOverhead = 48
	// DefaultMaxDatagram is MaxDatagram(DefaultMTU): 1452 bytes.
	DefaultMaxDatagram = DefaultMTU - IPv6UDPOverhead
)

// Block sizes (PROTOCOL.md §1.1).
const (
	// MinBlockShift is log2 of the smallest block size, 1 KiB.
	MinBlockShift = 10
	// MaxBlockShift is log2 of the largest block size, 1 MiB.
	MaxBlockShift = 20
	// MaxBlockSize is the largest block size in bytes, hence the longest block.
	MaxBlockSize = 1 << MaxBlockShift
	// MaxLevel is the highest tree level a node can have: block indices are 32-bit, so a tree
	// has at most 2^32 leaves and its top is at level 32 or below.
	MaxLevel = 32
	// HashLen is the length of a BLAKE2s-256 hash.
	HashLen = 32
)

// MaxDatagram returns the largest datagram, in bytes of UDP payload, that fits a path MTU of
// mtu bytes without IP fragmentation: mtu minus [IPv6UDPOverhead]. It returns an error for an
// mtu below [MinMTU] or above [MaxMTU].
func MaxDatagram(mtu int) (int, error) {
	if mtu < MinMTU || mtu > MaxMTU {
		return 0, fmt.Errorf("wire: mtu %d out of range [%d, %d]", mtu, MinMTU, MaxMTU)
	}
	return mtu - IPv6UDPOverhead, nil
}

// BlockPayload returns how many block bytes fit in one block packet of at most maxDatagram
// bytes, or 0 if not even one does.
func BlockPayload(maxDatagram int) int {
	return max(0, maxDatagram-BlockHeaderLen)
}

// TreeHashes returns how many node hashes fit in one tree packet of at most maxDatagram bytes,
// or 0 if not even one does.
func TreeHashes(maxDatagram int) int {
	return max(0, (maxDatagram-TreeHeaderLen)/HashLen)
}

// ManifestChunkPayload returns how many manifest bytes fit in one manifest chunk of at most
// maxDatagram bytes, or 0 if not even one does.
func ManifestChunkPayload(maxDatagram int) int {
	return max(0, maxDatagram-ManifestChunkHeaderLen)
}
