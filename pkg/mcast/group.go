package mcast

import (
	"fmt"
	"net/netip"

	"golang.org/x/crypto/blake2s"
)

// DefaultPort is the UDP port of every lcsync channel unless configured otherwise.
const DefaultPort = 4242

// Kind is a channel kind (PROTOCOL.md §3): the byte hashed in front of the channel key.
type Kind uint8

// Channel kinds.
const (
	// KindManifest is the manifest channel of a share, keyed by the share name.
	KindManifest Kind = 1
	// KindTree is the tree channel of a node, keyed by the node hash.
	KindTree Kind = 2
	// KindData is the data channel of a node, keyed by the node hash.
	KindData Kind = 3
	// KindStream is the stream channel of a directory (the whole share in carousel mode),
	// keyed by the directory's name.
	KindStream Kind = 4
	// KindCongestion is the congestion channel of a share, keyed by the share name: nothing
	// is ever sent on it; a receiver that drops datagrams joins it briefly, and the join
	// report tells the sender to slow down.
	KindCongestion Kind = 5
	// KindParity is a parity channel of a data or stream channel, keyed by that channel's
	// group address and a layer: it carries one Reed-Solomon parity shard of every block the
	// channel sends, and only receivers that lose datagrams join it.
	KindParity Kind = 6
	// KindObject is the channel of a tree object (a directory of a share, PROTOCOL.md §5.1),
	// keyed by the object's id: it carries the object's chunks.
	KindObject Kind = 7
)

// String returns the kind's name as PROTOCOL.md spells it.
func (k Kind) String() string {
	switch k {
	case KindManifest:
		return "manifest"
	case KindTree:
		return "tree"
	case KindData:
		return "data"
	case KindStream:
		return "stream"
	case KindCongestion:
		return "congestion"
	case KindParity:
		return "parity"
	case KindObject:
		return "object"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// channelDomain is the domain-separation prefix of group derivation.
const channelDomain = "lcsync/v1/channel"

// Group derives a channel's multicast address (PROTOCOL.md §3):
//
//	g = BLAKE2s-256("lcsync/v1/channel" || kind || key)
//	address = ff | (0x10 | scope) | g[0..13]
//
// The flags nibble is 1 (transient). Only the low 4 bits of scope are used; callers pass a
// scope from [ParseScope] or one of the Scope constants. Group does not validate key: an empty
// share name is not a valid key and callers validate names before deriving groups.
func Group(scope Scope, kind Kind, key []byte) netip.Addr {
	// Node keys (32 bytes) fit the stack buffer; longer share names spill to the heap.
	var buf [64]byte
	msg := append(append(append(buf[:0], channelDomain...), byte(kind)), key...)
	sum := blake2s.Sum256(msg)
	var a [16]byte
	a[0] = 0xff
	a[1] = 0x10 | byte(scope&0x0f)
	copy(a[2:], sum[:14])
	return netip.AddrFrom16(a)
}

// ManifestGroup is the manifest channel of the share named share (its UTF-8 bytes).
func ManifestGroup(s Scope, share string) netip.Addr {
	return Group(s, KindManifest, []byte(share))
}

// StreamGroup is the stream channel of the directory (or share) named dir.
func StreamGroup(s Scope, dir string) netip.Addr {
	return Group(s, KindStream, []byte(dir))
}

// CongestionGroup is the congestion channel of the share named share.
func CongestionGroup(s Scope, share string) netip.Addr {
	return Group(s, KindCongestion, []byte(share))
}

// Publisher is the Ed25519 public key of a signed share's publisher. It derives the share's
// manifest, stream and congestion channels along with their names (PROTOCOL.md §3), so that
// two publishers of one share name use different channels; nil means an unsigned share.
type Publisher = *[32]byte

// shareKey is the channel key of a share-level name: the name for an unsigned share,
// 0x00 || publisher key || name for a signed one. Canonical names hold no NUL byte, so the
// two forms never meet.
func shareKey(pub Publisher, name string) []byte {
	if pub == nil {
		return []byte(name)
	}
	return append(append([]byte{0}, pub[:]...), name...)
}

// SignedManifestGroup is the manifest channel of share as published by the key pub
// (ManifestGroup when pub is nil).
func SignedManifestGroup(s Scope, pub Publisher, share string) netip.Addr {
	return Group(s, KindManifest, shareKey(pub, share))
}

// SignedStreamGroup is the stream channel of directory dir of a share published by the key
// pub (StreamGroup when pub is nil).
func SignedStreamGroup(s Scope, pub Publisher, dir string) netip.Addr {
	return Group(s, KindStream, shareKey(pub, dir))
}

// SignedCongestionGroup is the congestion channel of share as published by the key pub
// (CongestionGroup when pub is nil).
func SignedCongestionGroup(s Scope, pub Publisher, share string) netip.Addr {
	return Group(s, KindCongestion, shareKey(pub, share))
}

// TreeGroup is the tree channel of the node at level whose hash is node. The level is part of
// the key because a page depends on it, and a node with a single child has its child's hash
// (promotion), so one hash can name nodes at several levels.
func TreeGroup(s Scope, level uint8, node [32]byte) netip.Addr {
	return Group(s, KindTree, append([]byte{level}, node[:]...))
}

// DataGroup is the data channel of the node whose hash is node.
func DataGroup(s Scope, node [32]byte) netip.Addr {
	return Group(s, KindData, node[:])
}

// ObjectGroup is the channel of the tree object whose id is id.
func ObjectGroup(s Scope, id [32]byte) netip.Addr {
	return Group(s, KindObject, id[:])
}

// ParityGroup is parity layer layer of the data or stream channel g:
// key = g's 16 address bytes || layer.
func ParityGroup(s Scope, g netip.Addr, layer uint8) netip.Addr {
	a := g.As16()
	return Group(s, KindParity, append(a[:], layer))
}
