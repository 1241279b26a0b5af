package wire

import "encoding/binary"

// TreeHeaderLen is the length of a tree packet before its node hashes (PROTOCOL.md §4.3).
const TreeHeaderLen = 20

// TreePacket carries a run of consecutive node hashes at one level below the labelled node
// (PROTOCOL.md §4.3).
type TreePacket struct {
	// Label names the node whose tree or data channel carries the packet.
	Label Label
	// Level is the level of the nodes carried; 0 is the leaves.
	Level uint8
	// Index is the index of the first node carried, relative to the labelled node's first
	// descendant at Level.
	Index uint32
	// Hashes holds Count() hashes of HashLen bytes each, at least one. After ParseTree it
	// aliases the datagram.
	Hashes []byte
}

// Count returns the number of node hashes in p.
func (p TreePacket) Count() int {
	return len(p.Hashes) / HashLen
}

// Hash returns the i-th node hash of p, the hash of node (Level, Index+i). It panics if i is
// not in [0, Count()), like an out-of-range slice index.
func (p TreePacket) Hash(i int) [HashLen]byte {
	return [HashLen]byte(p.Hashes[i*HashLen : (i+1)*HashLen])
}

// AppendTree appends p to dst as a tree packet and returns the extended slice. It does not
// validate p: a packet whose Hashes is empty or not a multiple of HashLen long does not parse.
func AppendTree(dst []byte, p TreePacket) []byte {
	dst = appendHeader(dst, TypeTree)
	dst = append(dst, p.Label[:]...)
	dst = append(dst, p.Level, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, p.Index)
	return append(dst, p.Hashes...)
}

// ParseTree decodes the tree packet b. The returned Hashes aliases b. Besides the header it
// checks that the reserved bytes are zero, that at least one whole hash follows and nothing
// else, and that the run fits a tree with 32-bit block indices: Level is at most [MaxLevel]
// and Index+Count() is at most 2^(32-Level).
func ParseTree(b []byte) (TreePacket, error) {
	if err := checkPacket(b, TypeTree, TreeHeaderLen+HashLen); err != nil {
		return TreePacket{}, err
	}
	if b[13]|b[14]|b[15] != 0 {
		return TreePacket{}, malformed("tree packet: reserved bytes %#x %#x %#x are not zero", b[13], b[14], b[15])
	}
	p := TreePacket{
		Label:  Label(b[4:12]),
		Level:  b[12],
		Index:  binary.BigEndian.Uint32(b[16:20]),
		Hashes: b[TreeHeaderLen:],
	}
	if len(p.Hashes)%HashLen != 0 {
		return TreePacket{}, malformed("tree packet: %d hash bytes are not a multiple of %d", len(p.Hashes), HashLen)
	}
	if p.Level > MaxLevel {
		return TreePacket{}, malformed("tree packet: level %d above the highest level %d", p.Level, MaxLevel)
	}
	if end := uint64(p.Index) + uint64(p.Count()); end > 1<<(MaxLevel-p.Level) {
		return TreePacket{}, malformed("tree packet: nodes [%d, %d) at level %d exceed the %d nodes a level can have",
			p.Index, end, p.Level, uint64(1)<<(MaxLevel-p.Level))
	}
	return p, nil
}
