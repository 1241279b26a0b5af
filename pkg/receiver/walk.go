package receiver

import (
	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// wnode is a node visited by the tree walk: one whose hash differs from the local copy.
type wnode struct {
	k, i     int
	hash     merkle.Hash
	span     int // leaves under the node
	need     int // needed leaves under the node, once the walk below it is done
	children []*wnode
	whole    bool // not walked: every leaf under it is needed (see expand)
}

// localEqual reports whether the local tree has node (k, i) covering the same leaves with the
// same hash, so its blocks can be reused.
func (f *fileState) localEqual(k, i int, h merkle.Hash) bool {
	if f.local == nil || !f.local.Shape().HasNode(k, i) {
		return false
	}
	a0, a1 := f.shape.Span(k, i)
	b0, b1 := f.local.Shape().Span(k, i)
	return a0 == b0 && a1 == b1 && f.local.Node(k, i) == h
}

// startWalk begins comparing a file with its local copy from the top node (caller holds mu).
func (s *session) startWalk(f *fileState) {
	top := f.shape.TopLevel()
	h := merkle.Hash(f.entry.Top)
	f.walked = true
	root := &wnode{k: top, i: 0, hash: h, span: f.shape.Blocks()}
	f.walk = root
	if top == 0 { // a single block: its leaf is the top, trusted from the manifest
		f.leaves[0] = h
		f.leafOK.Set(0)
		if f.localEqual(0, 0, h) {
			f.reuse.Set(0)
		} else {
			f.need.Set(0)
			f.remaining++
			root.need = 1
		}
		s.planData(f)
		return
	}
	s.walkNode(f, root)
}

// walkNode queues the tree page of n.
func (s *session) walkNode(f *fileState, n *wnode) {
	level := max(0, n.k-s.pageHeight())
	first, end := f.shape.Descendants(n.k, n.i, level)
	t := &target{f: f, k: n.k, i: n.i, hash: n.hash, label: wire.LabelOf(n.hash), level: level,
		first: first, end: end, run: make([]merkle.Hash, end-first), have: bitset.New(uint(end - first)), wnode: n}
	f.walking++
	s.enqueue(mcast.TreeGroup(s.cfg.Scope, uint8(n.k), n.hash), subTree, t)
}

// expand records a verified page of parent's descendants: equal nodes are reused, differing
// ones walked further, differing leaves needed. parent is nil for a single-leaf file.
func (s *session) expand(f *fileState, parent *wnode, level, first int, run []merkle.Hash) {
	whole := level > 0 && parent != nil && s.allDiffer(f, level, first, run)
	for j, h := range run {
		i := first + j
		if whole {
			a, b := f.shape.Span(level, i)
			f.need.SetRange(uint(a), uint(b))
			f.remaining += b - a
			parent.children = append(parent.children, &wnode{k: level, i: i, hash: h, span: b - a, need: b - a, whole: true})
			continue
		}
		if level == 0 {
			f.leaves[i], _ = h, f.leafOK.Set(uint(i))
			if f.localEqual(0, i, h) {
				f.reuse.Set(uint(i))
				s.queueCopy(f, i, i+1)
				continue
			}
			f.need.Set(uint(i))
			f.remaining++
			if parent != nil {
				parent.children = append(parent.children, &wnode{k: 0, i: i, hash: h, span: 1, need: 1})
			}
			continue
		}
		if f.localEqual(level, i, h) {
			a, b := f.shape.Span(level, i)
			f.reuse.SetRange(uint(a), uint(b))
			s.queueCopy(f, a, b)
			continue
		}
		a, b := f.shape.Span(level, i)
		child := &wnode{k: level, i: i, hash: h, span: b - a}
		parent.children = append(parent.children, child)
		s.walkNode(f, child)
	}
	if parent != nil {
		f.walking--
	}
	if f.walking == 0 {
		s.planData(f)
	}
}

// wholeMax is the most leaves a page may cover for its nodes to be fetched whole, without
// walking further, when every one of them differs from the local copy. A page of a copy with
// scattered changes never has all of its nodes differ that low in the tree (at 1% of the
// blocks changed, 16 nodes of 2 leaves each all differ with odds of 1e-27); a local copy that
// has nothing in common with the file has, and is no longer walked page by page down to the
// leaves (69,905 pages for a 512 MiB file in 4 KiB blocks, 4,369 with this; 4,369 and 273 in
// 16 KiB blocks). At 10% of the blocks changed, 16 nodes of 8 leaves all differ once in
// 10,000 pages.
const wholeMax = 128

// allDiffer reports whether a page of nodes at level (level > 0), covering at most wholeMax
// leaves, differs from the local copy in every node.
func (s *session) allDiffer(f *fileState, level, first int, run []merkle.Hash) bool {
	a, _ := f.shape.Span(level, first)
	_, b := f.shape.Span(level, first+len(run)-1)
	if b-a > wholeMax || len(run) < 2 {
		return false
	}
	for j, h := range run {
		if f.localEqual(level, first+j, h) {
			return false
		}
	}
	return true
}

// cover returns the nodes whose data channels fetch the needed blocks of n's subtree: n itself
// when at least half of its leaves are needed (or it is a leaf), else its children's covers.
func cover(n *wnode, dst []*wnode) []*wnode {
	need := n.need
	if n.k > 0 && len(n.children) > 0 {
		need = 0
		for _, c := range n.children {
			countNeed(c)
			need += c.need
		}
		n.need = need
	}
	// Take the whole node when at least half its leaves are needed and they are spread over
	// several children: one join instead of many, for a bounded waste. A single needed
	// child is always descended into, so sparse changes cost no unneeded blocks.
	switch {
	case need == 0:
		return dst
	case n.k == 0 || n.whole || 2*need >= n.span && neededChildren(n) > 1:
		return append(dst, n)
	}
	for _, c := range n.children {
		dst = cover(c, dst)
	}
	return dst
}

func countNeed(n *wnode) {
	if n.k == 0 || n.whole {
		return
	}
	n.need = 0
	for _, c := range n.children {
		countNeed(c)
		n.need += c.need
	}
}

func neededChildren(n *wnode) int {
	c := 0
	for _, ch := range n.children {
		if ch.need > 0 {
			c++
		}
	}
	return c
}
