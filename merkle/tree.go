package merkle

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Tree is the merkle tree of one file: every node of every level and the
// root. It is immutable after construction and safe for concurrent reads.
// Build one with [Build], [FromLeaves] or [Unmarshal], which hold every level
// in memory, or with [BuildStored], which holds only the upper levels and
// reads the rest from a [LeafStore] (see [Tree.Resident] and [Tree.Hashes]).
type Tree struct {
	shape Shape
	nodes []Hash // every resident node, top-down (PROTOCOL.md §1.2)
	// levels[k] is the level-k window of nodes (nil below low); nil for a tree of at most
	// one level, whose nodes are its level 0: most files of a large share are one block, and
	// each such tree is then two small allocations (see level).
	levels [][]Hash
	root   Hash
	stored *stored // the lower levels of a tree built by BuildStored; nil otherwise
	low    int     // lowest resident level: 0 unless built by BuildStored
	// broken is set once reading the store failed.
	broken atomic.Bool
}

// stored is what only a tree built by BuildStored has: the store of its leaf hashes and the
// unit of the levels below the resident one read last.
type stored struct {
	store LeafStore
	cache unitCache
}

// level returns the level-k window of nodes (k at or above low).
func (t *Tree) level(k int) []Hash {
	if t.levels == nil {
		return t.nodes
	}
	return t.levels[k]
}

// newTree allocates the node storage of shape s, hashes not yet computed.
func newTree(s Shape) *Tree {
	t := &Tree{shape: s, nodes: make([]Hash, s.Nodes())}
	if s.levels <= 1 {
		return t
	}
	t.levels = make([][]Hash, s.levels)
	start := 0
	for k := s.levels - 1; k >= 0; k-- {
		end := start + s.LevelLen(k)
		t.levels[k] = t.nodes[start:end:end]
		start = end
	}
	return t
}

// FromLeaves returns the tree of shape s whose leaf hashes are leaves,
// computing every inner level and the root. len(leaves) must equal
// s.Blocks(). The leaves are copied.
func FromLeaves(s Shape, leaves []Hash) (*Tree, error) {
	if s.bs == 0 {
		return nil, fmt.Errorf("merkle: invalid zero shape")
	}
	if len(leaves) != s.n {
		return nil, fmt.Errorf("merkle: %d leaf hashes for a tree of %d blocks", len(leaves), s.n)
	}
	t := newTree(s)
	if s.n > 0 {
		copy(t.level(0), leaves)
	}
	t.finish(runtime.GOMAXPROCS(0))
	return t, nil
}

// finish computes every inner level from level 0, then the root.
func (t *Tree) finish(workers int) {
	for k := 1; k < t.shape.levels; k++ {
		hashLevel(t.level(k), t.level(k-1), workers)
	}
	t.root = RootOf(t.shape, t.Top())
}

// parallelLevelMin is the level length from which a level is hashed by
// several goroutines; below it the goroutine start-up costs more than it saves.
const parallelLevelMin = 1 << 12

// hashLevel computes parent level dst from child level src, in parallel
// chunks when the level is large.
func hashLevel(dst, src []Hash, workers int) {
	if workers < 2 || len(dst) < parallelLevelMin {
		pairUp(dst, src)
		return
	}
	chunk := (len(dst) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(dst); lo += chunk {
		hi := min(lo+chunk, len(dst))
		wg.Add(1)
		go func() {
			defer wg.Done()
			pairUp(dst[lo:hi], src[2*lo:min(2*hi, len(src))])
		}()
	}
	wg.Wait()
}

// Shape returns the geometry of the tree.
func (t *Tree) Shape() Shape { return t.shape }

// Root returns the root, which commits to the file size, block size and top.
func (t *Tree) Root() Hash { return t.root }

// Top returns the single node of the top level, or the zero Hash for an
// empty file.
func (t *Tree) Top() Hash {
	if t.shape.levels == 0 {
		return Hash{}
	}
	return t.level(t.shape.levels - 1)[0]
}

// Node returns the hash of node (k, i). It panics if the node does not exist
// (see [Shape.HasNode]), and on a level below [Tree.Resident] if the store
// cannot be read: callers of a stored tree use [Tree.Get] there.
func (t *Tree) Node(k, i int) Hash {
	if !t.shape.HasNode(k, i) {
		panic(fmt.Sprintf("merkle: node (%d, %d) does not exist (%s)", k, i, t.shape))
	}
	if k < t.low {
		h, err := t.Get(k, i)
		if err != nil {
			panic(err.Error())
		}
		return h
	}
	return t.level(k)[i]
}

// Leaf returns the leaf hash of block i. It panics if i is not a block index.
func (t *Tree) Leaf(i int) Hash { return t.Node(0, i) }

// Level returns the hashes of level k in index order, or nil if the tree has
// no level k or does not hold it in memory (below [Tree.Resident]; see
// [Tree.Hashes]). The slice is a read-only view of the tree's storage: callers
// must not modify it (copy it first if they need to).
func (t *Tree) Level(k int) []Hash {
	if k < t.low || k >= t.shape.levels {
		return nil
	}
	return t.level(k)
}

// Run returns the hashes of the descendants of node (k, i) at level `level`
// (see [Shape.Descendants]), a read-only view like [Tree.Level]. It panics
// if the node does not exist, level is not in [0, k], or level is below
// [Tree.Resident] (see [Tree.Hashes]).
func (t *Tree) Run(k, i, level int) []Hash {
	first, end := t.shape.Descendants(k, i, level)
	if level < t.low {
		panic(fmt.Sprintf("merkle: level %d is not resident (%s, resident from level %d)", level, t.shape, t.low))
	}
	return t.level(level)[first:end:end]
}
