package wire

import "fmt"

// Common header (PROTOCOL.md §4).
const (
	// Magic0 is the first byte of every lcsync datagram ('l').
	Magic0 = 0x6c
	// Magic1 is the second byte of every lcsync datagram ('c').
	Magic1 = 0x63
	// Version is the protocol version this package reads and writes.
	Version = 1
	// HeaderLen is the length of the common header: magic, version and type.
	HeaderLen = 4
)

// Type is the packet type carried in byte 3 of the common header.
type Type uint8

// Packet types (PROTOCOL.md §4).
const (
	// TypeManifest is a manifest chunk (§4.2).
	TypeManifest Type = 1
	// TypeTree is a tree packet carrying a run of node hashes (§4.3).
	TypeTree Type = 2
	// TypeBlock is a block packet carrying a piece of one block (§4.4).
	TypeBlock Type = 3
	// TypeEnd marks the end of a channel's cycle (§4.5).
	TypeEnd Type = 4
	// TypeParity carries a parity shard of a block (§4.6).
	TypeParity Type = 5
	// TypeStatement carries the publisher's signed statement about a manifest (§4.7).
	TypeStatement Type = 6
	// TypeObject is a chunk of a tree object (§4.8), laid out as a manifest chunk.
	TypeObject Type = 7
)

// String returns the lower-case name of t, or "type(N)" for an unknown type.
func (t Type) String() string {
	switch t {
	case TypeManifest:
		return "manifest"
	case TypeTree:
		return "tree"
	case TypeBlock:
		return "block"
	case TypeEnd:
		return "end"
	case TypeParity:
		return "parity"
	case TypeStatement:
		return "statement"
	case TypeObject:
		return "object"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Known reports whether t is a packet type of this protocol version.
func (t Type) Known() bool {
	return t >= TypeManifest && t <= TypeObject
}

// PeekType checks the common header of datagram b and returns its packet type. It returns an
// error wrapping [ErrNotOurs] when the magic bytes are wrong, [ErrVersion] when the version is
// not [Version], [ErrType] when the type is unknown and [ErrMalformed] when b is shorter than
// the header. It does not look past the header.
func PeekType(b []byte) (Type, error) {
	if (len(b) > 0 && b[0] != Magic0) || (len(b) > 1 && b[1] != Magic1) {
		return 0, errorf(ErrNotOurs, "datagram does not start with magic 0x6c63")
	}
	if len(b) < HeaderLen {
		return 0, malformed("datagram: %d bytes, need at least %d", len(b), HeaderLen)
	}
	if b[2] != Version {
		return 0, errorf(ErrVersion, "datagram version %d, this implementation speaks %d", b[2], Version)
	}
	t := Type(b[3])
	if !t.Known() {
		return 0, errorf(ErrType, "unknown packet type %d", b[3])
	}
	return t, nil
}

// appendHeader appends the common header for a packet of type t.
func appendHeader(dst []byte, t Type) []byte {
	return append(dst, Magic0, Magic1, Version, byte(t))
}

// checkPacket checks the common header of b for packet type want and that b has at least
// minLen bytes. The length message names the packet, e.g. "block packet: 12 bytes, need at
// least 21".
func checkPacket(b []byte, want Type, minLen int) error {
	t, err := PeekType(b)
	if err != nil {
		return err
	}
	if t != want {
		return errorf(ErrType, "%s packet: got a %s packet", want, t)
	}
	if len(b) < minLen {
		return malformed("%s packet: %d bytes, need at least %d", want, len(b), minLen)
	}
	return nil
}
