package merkle

import "github.com/bits-and-blooms/bitset"

// Diff returns the blocks of want that must be fetched to turn a file whose
// tree is have into the file whose tree is want: a bitset of want's length in
// blocks where bit i is set when block i of want is not already present at
// the same index in have. That is every block when have is nil or has another
// block size, and otherwise every block beyond have's last block or whose leaf
// differs.
//
// Diff walks want from the top and skips a whole subtree as soon as the node
// of the same (level, index) in have covers the same leaves and has the same
// hash, so two large trees with few differences are compared in time
// proportional to the differences times the tree height. want must not be
// nil. Both trees should be held whole in memory (see [Tree.Resident]).
func Diff(have, want *Tree) *bitset.BitSet {
	n := want.shape.n
	need := bitset.New(uint(n))
	if n == 0 {
		return need
	}
	if have == nil || have.shape.bs != want.shape.bs || have.shape.n == 0 {
		return need.SetAll()
	}
	d := differ{have: have, want: want, need: need}
	d.walk(want.shape.levels-1, 0)
	return need
}

type differ struct {
	have, want *Tree
	need       *bitset.BitSet
}

// walk marks the differing leaves under want's node (k, i).
func (d *differ) walk(k, i int) {
	hs, ws := d.have.shape, d.want.shape
	if hs.HasNode(k, i) {
		_, hEnd := hs.Span(k, i)
		_, wEnd := ws.Span(k, i)
		if hEnd == wEnd && d.have.Node(k, i) == d.want.Node(k, i) {
			return
		}
	}
	if k == 0 {
		d.need.Set(uint(i))
		return
	}
	if lo, hi := ws.Span(k, i); lo >= hs.n {
		// have has no leaf under this node: every leaf is needed.
		d.need.SetRange(uint(lo), uint(hi))
		return
	}
	first, end := ws.Descendants(k, i, k-1)
	for c := first; c < end; c++ {
		d.walk(k-1, c)
	}
}
