package merkle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// Binary encoding of a whole tree (PROTOCOL.md §1.5):
//
//	"LCMT" | version u8 = 1 | log2(bs) u8 | reserved u16 = 0 | size u64 | nodes, top-down
const (
	encMagic   = "LCMT"
	encVersion = 1
	// EncodingHeaderSize is the length of the encoding's fixed header.
	EncodingHeaderSize = 16
)

// EncodedLen returns the length of the binary encoding of a tree of shape s.
func EncodedLen(s Shape) int { return EncodingHeaderSize + HashSize*s.Nodes() }

// MarshalBinary returns the binary encoding of the tree (PROTOCOL.md §1.5).
// It implements encoding.BinaryMarshaler; see [Tree.AppendBinary].
func (t *Tree) MarshalBinary() ([]byte, error) {
	return t.AppendBinary(make([]byte, 0, EncodedLen(t.shape)))
}

// AppendBinary appends the binary encoding of the tree to b and returns the
// extended slice. It implements encoding.BinaryAppender and fails only when
// the levels of a stored tree (see [BuildStored]) cannot be read.
func (t *Tree) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encMagic...)
	b = append(b, encVersion, byte(t.shape.shift), 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(t.shape.size))
	for i := range t.nodes {
		b = append(b, t.nodes[i][:]...)
	}
	var run []Hash
	for k := t.low - 1; k >= 0; k-- {
		for first := 0; first < t.shape.LevelLen(k); first += 1 << 12 {
			var err error
			if run, err = t.Hashes(k, first, min(first+1<<12, t.shape.LevelLen(k)), run[:0]); err != nil {
				return nil, err
			}
			b = append(b, hashBytes(run)...)
		}
	}
	return b, nil
}

// Unmarshal decodes a tree from its binary encoding (PROTOCOL.md §1.5).
// Decoding is strict: the magic, version, block size and reserved field must
// be valid, the length must be exactly that of a tree of the encoded size and
// block size, and every parent must equal the hash of its children (or its
// single promoted child). The root is recomputed, never read, so the caller
// must still compare it with a root it trusts: an encoding carries no
// redundancy for the size within its last block, nor for the leaf of a
// single-block tree. The input is not retained; nothing is allocated before
// the length has been checked.
func Unmarshal(data []byte) (*Tree, error) {
	if len(data) < EncodingHeaderSize {
		return nil, fmt.Errorf("merkle: tree encoding of %d bytes is shorter than its %d-byte header", len(data), EncodingHeaderSize)
	}
	if string(data[:4]) != encMagic {
		return nil, fmt.Errorf("merkle: tree encoding has magic %q, want %q", data[:4], encMagic)
	}
	if v := data[4]; v != encVersion {
		return nil, fmt.Errorf("merkle: tree encoding version %d is not supported (want %d)", v, encVersion)
	}
	lbs := uint(data[5])
	if lbs < uint(bits.TrailingZeros(MinBlockSize)) || lbs > uint(bits.TrailingZeros(MaxBlockSize)) {
		return nil, fmt.Errorf("merkle: tree encoding has log2 block size %d, want 10 to 20", lbs)
	}
	if r := binary.BigEndian.Uint16(data[6:]); r != 0 {
		return nil, fmt.Errorf("merkle: tree encoding has reserved field %#04x, want 0", r)
	}
	usize := binary.BigEndian.Uint64(data[8:])
	if usize > math.MaxInt64 {
		return nil, fmt.Errorf("merkle: tree encoding has size %d, more than the largest file", usize)
	}
	s, err := NewShape(int64(usize), 1<<lbs)
	if err != nil {
		return nil, err
	}
	if want := EncodedLen(s); len(data) != want {
		return nil, fmt.Errorf("merkle: tree encoding is %d bytes, want %d for %s", len(data), want, s)
	}
	t := newTree(s)
	body := data[EncodingHeaderSize:]
	for i := range t.nodes {
		copy(t.nodes[i][:], body[i*HashSize:])
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	t.root = RootOf(s, t.Top())
	return t, nil
}

// check verifies that every parent equals the hash of its children.
func (t *Tree) check() error {
	for k := 1; k < t.shape.levels; k++ {
		parents, children := t.level(k), t.level(k-1)
		for j := range parents {
			var want Hash
			if 2*j+1 < len(children) {
				want = NodeHash(children[2*j], children[2*j+1])
			} else {
				want = children[2*j]
			}
			if parents[j] != want {
				return fmt.Errorf("%w: node (%d, %d) is not the hash of its children", ErrMismatch, k, j)
			}
		}
	}
	return nil
}
