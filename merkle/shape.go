package merkle

import (
	"fmt"
	"math"
	"math/bits"
)

// Block size limits of PROTOCOL.md §1.1. Every block size is a power of two
// between MinBlockSize and MaxBlockSize.
const (
	MinBlockSize     = 1 << 10
	MaxBlockSize     = 1 << 20
	DefaultBlockSize = 16 << 10
)

// MaxBlocks is the largest number of blocks a [Shape] accepts. It keeps every
// node count and flat index comfortably inside an int on 64-bit platforms;
// a tree that large would need 4 TiB of hashes anyway.
const MaxBlocks int64 = 1 << 36

// CheckBlockSize returns nil if bs is a valid block size: a power of two from
// MinBlockSize to MaxBlockSize.
func CheckBlockSize(bs int) error {
	if bs < MinBlockSize || bs > MaxBlockSize || bs&(bs-1) != 0 {
		return fmt.Errorf("merkle: block size %d is not a power of two between 1 KiB and 1 MiB", bs)
	}
	return nil
}

// Shape is the geometry of the tree of a file of a given size cut into
// blocks of a given block size: how many blocks and levels there are, how
// long each level is, which leaves a node covers. It does no hashing. The
// zero Shape is not valid; use [NewShape]. Shapes are small values and
// comparable with ==.
type Shape struct {
	size   int64
	bs     int
	shift  uint // log2(bs)
	n      int  // blocks
	levels int
}

// NewShape returns the shape of a file of size bytes cut into blocks of bs
// bytes. It fails if bs is not a valid block size, size is negative, or the
// file would have more than [MaxBlocks] blocks.
func NewShape(size int64, bs int) (Shape, error) {
	if err := CheckBlockSize(bs); err != nil {
		return Shape{}, err
	}
	if size < 0 {
		return Shape{}, fmt.Errorf("merkle: negative file size %d", size)
	}
	shift := uint(bits.TrailingZeros(uint(bs)))
	n64 := size >> shift
	if size&int64(bs-1) != 0 {
		n64++
	}
	if n64 > MaxBlocks || n64 > math.MaxInt/4 {
		return Shape{}, fmt.Errorf("merkle: file size %d with block size %d gives %d blocks, more than the limit of %d",
			size, bs, n64, MaxBlocks)
	}
	n := int(n64)
	s := Shape{size: size, bs: bs, shift: shift, n: n}
	switch {
	case n == 0:
		s.levels = 0
	case n == 1:
		s.levels = 1
	default:
		s.levels = 1 + bits.Len(uint(n-1))
	}
	return s, nil
}

// Size returns the file size in bytes.
func (s Shape) Size() int64 { return s.size }

// BlockSize returns the block size in bytes.
func (s Shape) BlockSize() int { return s.bs }

// Blocks returns the number of blocks (and leaves), ceil(size / bs).
func (s Shape) Blocks() int { return s.n }

// BlockOffset returns the file offset of block i. It panics if i is not in
// [0, Blocks()].
func (s Shape) BlockOffset(i int) int64 {
	if i < 0 || i > s.n {
		panic(fmt.Sprintf("merkle: block %d out of range [0, %d]", i, s.n))
	}
	return int64(i) << s.shift
}

// BlockLen returns the real length of block i: bs for every block but the
// last, which may be short. It panics if i is not a block index.
func (s Shape) BlockLen(i int) int {
	if i < 0 || i >= s.n {
		panic(fmt.Sprintf("merkle: block %d out of range (%d blocks)", i, s.n))
	}
	if i < s.n-1 {
		return s.bs
	}
	return int(s.size - int64(i)<<s.shift)
}

// Levels returns the number of levels: 0 for an empty file, 1 for a single
// block, 1 + ceil(log2(n)) for n > 1 blocks.
func (s Shape) Levels() int { return s.levels }

// TopLevel returns the level of the top node, Levels()-1 (-1 for an empty
// file).
func (s Shape) TopLevel() int { return s.levels - 1 }

// LevelLen returns the number of nodes at level k, ceil(n / 2^k), or 0 if
// the tree has no level k.
func (s Shape) LevelLen(k int) int {
	if k < 0 || k >= s.levels {
		return 0
	}
	return (s.n-1)>>uint(k) + 1
}

// Nodes returns the total number of nodes in all levels, sum of ceil(n/2^k)
// over the levels: less than 2n + Levels() (not always below 2n: 3 blocks
// give 6 nodes, 5 give 11).
func (s Shape) Nodes() int {
	total := 0
	for k := 0; k < s.levels; k++ {
		total += s.LevelLen(k)
	}
	return total
}

// HasNode reports whether node (k, i) exists in the tree. Callers holding
// untrusted coordinates (from a packet, say) check them with HasNode before
// calling the methods that panic on a bad node.
func (s Shape) HasNode(k, i int) bool {
	return k >= 0 && k < s.levels && i >= 0 && i < s.LevelLen(k)
}

// Span returns the run of leaves [first, end) covered by node (k, i). It
// panics if the node does not exist.
func (s Shape) Span(k, i int) (first, end int) {
	return s.Descendants(k, i, 0)
}

// Descendants returns the run [first, end) of indices at level `level` that
// descend from node (k, i), as defined in PROTOCOL.md §1.4. Folding the
// hashes of that run with [Fold] yields the hash of (k, i). level == k gives
// the node itself. It panics if the node does not exist or level is not in
// [0, k].
func (s Shape) Descendants(k, i, level int) (first, end int) {
	if !s.HasNode(k, i) {
		panic(fmt.Sprintf("merkle: node (%d, %d) does not exist (%d levels, %d blocks)", k, i, s.levels, s.n))
	}
	if level < 0 || level > k {
		panic(fmt.Sprintf("merkle: level %d is not in [0, %d] below node (%d, %d)", level, k, k, i))
	}
	d := uint(k - level)
	first = i << d
	end = min((i+1)<<d, s.LevelLen(level))
	return first, end
}

// FlatIndex returns the position of node (k, i) in top-down storage order:
// i plus the lengths of every level above k (PROTOCOL.md §1.2). It panics if
// the node does not exist.
func (s Shape) FlatIndex(k, i int) int {
	if !s.HasNode(k, i) {
		panic(fmt.Sprintf("merkle: node (%d, %d) does not exist (%d levels, %d blocks)", k, i, s.levels, s.n))
	}
	return s.levelStart(k) + i
}

// levelStart returns the flat index of the first node of level k.
func (s Shape) levelStart(k int) int {
	start := 0
	for j := k + 1; j < s.levels; j++ {
		start += s.LevelLen(j)
	}
	return start
}

// String describes the shape for messages and debugging.
func (s Shape) String() string {
	return fmt.Sprintf("size %d, block size %d, %d blocks, %d levels", s.size, s.bs, s.n, s.levels)
}
