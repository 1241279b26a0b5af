package merkle

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"unsafe"

	"golang.org/x/crypto/blake2s"

	mb "github.com/lcsync/lcsync/simd/blake2s"
)

// HashSize is the size in bytes of every hash in a tree.
const HashSize = blake2s.Size

// Domain separation prefixes of PROTOCOL.md §1.3.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
	rootPrefix = 0x02
)

// Hash is a BLAKE2s-256 digest: a leaf, an inner node, a top or a root.
type Hash [HashSize]byte

// String returns the hash as 64 lower-case hexadecimal digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zero bytes, the top of an empty file.
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash decodes 64 hexadecimal digits, as printed by [Hash.String].
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("merkle: hash %q has %d hex digits, want %d", s, len(s), 2*HashSize)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("merkle: hash %q: %w", s, err)
	}
	return h, nil
}

// LeafHash returns the leaf hash of one block: H(0x00 || block). The block
// must hold the block's real bytes (a short last block is not padded).
func LeafHash(block []byte) Hash {
	return newLeafHasher().sum(block)
}

// HashLeaves sets out[i] to [LeafHash](blocks[i]) for every i. Blocks of
// the same length that are next to each other in blocks are hashed up to 16
// at a time, one per SIMD lane (package simd/blake2s), so a batch of
// full-size blocks with at most a short last block costs a fraction of
// hashing them one by one; a lone block costs what LeafHash does. It panics
// if len(out) != len(blocks), a programming error.
func HashLeaves(blocks [][]byte, out []Hash) {
	if len(out) != len(blocks) {
		panic("merkle: HashLeaves: len(out) != len(blocks)")
	}
	prefix := []byte{leafPrefix}
	for i := 0; i < len(blocks); {
		j := i + 1
		for j < len(blocks) && len(blocks[j]) == len(blocks[i]) {
			j++
		}
		mb.SumMany(out[i:j], prefix, blocks[i:j])
		i = j
	}
}

// NodeHash returns the hash of an inner node with two children:
// H(0x01 || left || right). A node with a single child is not hashed: it
// equals the child (promotion).
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = nodePrefix
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return blake2s.Sum256(buf[:])
}

// Fold pairs the run of hashes from its start with the rule of PROTOCOL.md
// §1.3, promoting an odd last element, until one hash remains, and returns
// it (§1.4). Folding the run of a node's descendants at any level yields the
// node's hash; see [Shape.Descendants]. A run of one hash folds to itself;
// an empty run folds to the zero Hash, the top of an empty file. Fold does
// not modify run.
func Fold(run []Hash) Hash {
	switch len(run) {
	case 0:
		return Hash{}
	case 1:
		return run[0]
	}
	cur := make([]Hash, (len(run)+1)/2)
	n := pairUp(cur, run)
	for n > 1 {
		n = pairUp(cur[:(n+1)/2], cur[:n])
	}
	return cur[0]
}

// pairBatch is how many inner nodes pairUp hands to the multi-buffer hash at
// once: a few kernel calls' worth of message headers on the stack.
const pairBatch = 4 * mb.MaxLanes

// pairUp writes the parents of src into dst (len(dst) == ceil(len(src)/2))
// and returns len(dst). dst may alias the start of src: parent j is written
// only after children 2j and 2j+1 were read (a batch of parents j..j+15 is
// written after all their children were read, and children 2j.. lie at or
// beyond parent j).
func pairUp(dst, src []Hash) int {
	pairs := len(src) / 2
	var msgs [pairBatch][]byte
	prefix := []byte{nodePrefix}
	for lo := 0; lo < pairs; lo += pairBatch {
		hi := min(lo+pairBatch, pairs)
		if hi-lo == 1 {
			dst[lo] = NodeHash(src[2*lo], src[2*lo+1])
			break
		}
		for j := lo; j < hi; j++ {
			// Children 2j and 2j+1 are adjacent in src: the message
			// left || right is their 64 contiguous bytes.
			msgs[j-lo] = unsafe.Slice(&src[2*j][0], 2*HashSize)
		}
		mb.SumMany(dst[lo:hi], prefix, msgs[:hi-lo])
	}
	if pairs < len(dst) {
		dst[pairs] = src[2*pairs]
	}
	return len(dst)
}

// RootOf returns the root of a tree of shape s whose top node is top:
// H(0x02 || u64le(size) || u32le(bs) || top).
func RootOf(s Shape, top Hash) Hash {
	var buf [1 + 8 + 4 + HashSize]byte
	buf[0] = rootPrefix
	binary.LittleEndian.PutUint64(buf[1:], uint64(s.size))
	binary.LittleEndian.PutUint32(buf[9:], uint32(s.bs))
	copy(buf[13:], top[:])
	return blake2s.Sum256(buf[:])
}

// leafHasher computes leaf hashes without allocating; one per goroutine.
type leafHasher struct {
	h      hash.Hash
	out    []byte
	prefix [1]byte
}

func newLeafHasher() *leafHasher {
	h, err := blake2s.New256(nil)
	if err != nil {
		// New256 fails only for an over-long key; nil is always valid.
		panic("merkle: blake2s.New256(nil): " + err.Error())
	}
	return &leafHasher{h: h, out: make([]byte, 0, HashSize), prefix: [1]byte{leafPrefix}}
}

func (l *leafHasher) sum(block []byte) Hash {
	l.h.Reset()
	l.h.Write(l.prefix[:])
	l.h.Write(block)
	var out Hash
	copy(out[:], l.h.Sum(l.out[:0]))
	return out
}
