package receiver

import (
	"math"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// The planner: it walks a file's tree top-down against its local copy, page by page on tree
// channels, only into the branches that differ, then covers the needed blocks with data
// channels (see cover). It runs under mu, from the controller (startWalk, planData) and from
// the reader (a verified page expands the walk).

// startWalk begins comparing a file with its local copy from the top node (caller holds mu).
func (s *session) startWalk(f *fileState) {
	top := f.shape.TopLevel()
	h := merkle.Hash(f.entry.Top)
	f.walked = true
	f.walkHash = map[nodeRef]merkle.Hash{{top, 0}: h}
	if top == 0 { // a single block: its leaf is the top, trusted from the manifest
		f.leaves.set(0, h)
		f.leafOK.Set(0)
		if f.localEqual(0, 0, h) {
			f.reuse.Set(0)
		} else {
			f.need.Set(0)
			f.remaining++
		}
		s.planData(f)
		return
	}
	s.walkNode(f, top, 0, h)
}

// walkNode queues the tree page below node (k, i) of f, whose hash h differs from the local
// copy's.
func (s *session) walkNode(f *fileState, k, i int, h merkle.Hash) {
	level := max(0, k-s.pageHeight())
	first, end := f.shape.Descendants(k, i, level)
	t := &target{f: f, k: k, i: i, hash: h, label: wire.LabelOf(h), level: level,
		first: first, end: end, run: make([]merkle.Hash, end-first), have: bitset.New(uint(end - first)), walk: true}
	f.walking++
	s.enqueue(mcast.TreeGroup(s.cfg.Scope, uint8(k), h), subTree, t)
}

// expand records a verified page of a walked node's descendants: equal nodes are reused,
// differing ones walked further, differing leaves needed (caller holds mu).
func (s *session) expand(t *target) {
	f, level, first, run := t.f, t.level, t.first, t.run
	whole := level > 0 && f.allDiffer(level, first, run)
	for j, h := range run {
		i := first + j
		a, b := f.shape.Span(level, i)
		switch {
		case whole:
			f.need.SetRange(uint(a), uint(b))
			f.remaining += b - a
			if f.whole == nil {
				f.whole = map[nodeRef]bool{}
			}
			f.whole[nodeRef{level, i}] = true
			f.walkHash[nodeRef{level, i}] = h
		case level == 0:
			f.leaves.set(i, h)
			f.leafOK.Set(uint(i))
			if f.localEqual(0, i, h) {
				f.reuse.Set(uint(i))
				s.copier.queue(f, i, i+1)
				continue
			}
			f.need.Set(uint(i))
			f.remaining++
			f.walkHash[nodeRef{0, i}] = h
		case f.localEqual(level, i, h):
			f.reuse.SetRange(uint(a), uint(b))
			s.copier.queue(f, a, b)
		default:
			f.walkHash[nodeRef{level, i}] = h
			s.walkNode(f, level, i, h)
		}
	}
	f.walking--
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

// planData queues the data channels that fetch f's needed blocks (caller holds mu).
func (s *session) planData(f *fileState) {
	if f.planned {
		return
	}
	f.planned = true
	s.maybeReady(f)
	s.poke()
	if f.remaining == 0 || s.cfg.DryRun {
		return
	}
	top := merkle.Hash(f.entry.Top)
	if s.manifest.Carousel {
		s.enqueue(s.streamGroup(s.share), subStream, f.dataTarget(f.shape.TopLevel(), 0, top))
		return
	}
	if !f.walked {
		s.enqueue(mcast.DataGroup(s.cfg.Scope, top), subData, f.dataTarget(f.shape.TopLevel(), 0, top))
		return
	}
	need := func(first, end int) int { return int(f.need.OnesBetween(uint(first), uint(end))) }
	whole := func(k, i int) bool { return f.whole[nodeRef{k, i}] }
	nodes, _ := cover(f.shape, f.shape.TopLevel(), 0, need, whole, nil, math.MaxInt)
	hashes := make([]merkle.Hash, len(nodes))
	for j, n := range nodes {
		h, ok := s.walkedHash(f, n)
		if !ok { // cover takes only nodes on verified pages; should that ever fail, take the top
			nodes, hashes = []nodeRef{{f.shape.TopLevel(), 0}}, []merkle.Hash{top}
			break
		}
		hashes[j] = h
	}
	for j, n := range nodes {
		s.enqueue(mcast.DataGroup(s.cfg.Scope, hashes[j]), subData, f.dataTarget(n.k, n.i, hashes[j]))
	}
}

// walkedHash returns the verified hash of node n of f, which the walk found different: one a
// page listed, or one between the levels of a page, folded from the page's nodes below it
// (caller holds mu).
func (s *session) walkedHash(f *fileState, n nodeRef) (merkle.Hash, bool) {
	if h, ok := f.walkHash[n]; ok {
		return h, true
	}
	for k := n.k + 1; k <= f.shape.TopLevel(); k++ {
		i := n.i >> (k - n.k)
		run, ok := f.pages[nodeRef{k, i}]
		level := max(0, k-s.pageHeight())
		if !ok || level > n.k {
			continue
		}
		first, _ := f.shape.Descendants(k, i, level)
		a, b := f.shape.Descendants(n.k, n.i, level)
		return merkle.Fold(run[a-first : b-first]), true
	}
	return merkle.Hash{}, false
}
