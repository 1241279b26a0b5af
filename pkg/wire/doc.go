// Package wire implements the lcsync wire formats of PROTOCOL.md: the common packet header
// (§4), manifest chunk, tree, block, end, parity, statement and object chunk packets
// (§4.2–§4.8), the manifest (§5.1: the flat version 1 blob, and version 2, a header naming a
// tree of content-addressed directory objects, with SplitManifest and Flatten between the two)
// and the rules for canonical names (§2). It encodes a statement and the
// bytes its signature covers; signing and verifying are pkg/sign's.
//
// The package is a leaf: it does no I/O, starts no goroutines and keeps no state. Every
// packet type has an Append function that writes a datagram to the end of a caller's buffer and
// a Parse function that checks every field against the datagram length before use. Parse
// functions for the hot packet types (tree and block) do not allocate: the slices they return
// alias the input datagram, so a caller that reuses its receive buffer must copy what it keeps.
//
// Decoding is strict. A datagram or manifest is accepted only if re-encoding the decoded value
// reproduces it byte for byte: reserved fields must be zero, unknown flags are refused and
// trailing bytes are an error. Errors from this package are wrapped so callers can count and
// ignore foreign traffic with [errors.Is] and the sentinels [ErrNotOurs], [ErrVersion],
// [ErrType] and [ErrMalformed].
//
// Hashes are BLAKE2s-256 (RFC 7693) and are carried as [32]byte; the package does not depend on
// the merkle package. Multi-byte integers are big-endian. Datagram sizes follow from IPv6
// (RFC 8200, minimum link MTU 1280) and UDP (RFC 768): see [MaxDatagram].
package wire
