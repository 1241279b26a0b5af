package receiver

import (
	"net/netip"
	"time"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// maxRepair bounds the channels one repair may open; beyond it the whole channel is joined
// again instead, which is cheaper than thousands of joins.
const maxRepair = 1024

// repairResult says what repair did.
type repairResult int

const (
	repairNone    repairResult = iota // nothing narrower: join the same channel again
	repairDone                        // narrower channels queued: leave this one
	repairWaiting                     // leaf hashes are being fetched first: keep waiting
)

// repair replaces a data subscription whose cycle ended with blocks still missing by narrower
// data channels that cover just the missing blocks, so a few lost datagrams cost a few
// blocks, not another cycle. It needs the leaves of the missing blocks verified (to compute
// the hashes of the nodes it joins): if some are not (their hash packets were lost too), it
// fetches them first by walking tree pages from the top down to them and reports
// repairWaiting. If too many channels would be needed it reports repairNone and the caller
// joins the same channel again (caller holds mu). running says the channel's cycle is not
// over (it stalled: it brings nothing verifiable, but brings datagrams): then a node whose
// channel is this one is not replaced by its parent's either, and repair reports repairNone.
//
// Joining the same channel again beats a wider cover of the missing blocks when they are many:
// receivers that lose different datagrams share that cycle, where each would get a cover of its
// own (measured at 5% loss, N=4: 3.0-3.8x the file on the wire with covers, 2.1-2.8x without).
func (s *session) repair(sb *sub, running bool) repairResult {
	if sb.kind != subData && (sb.kind != subStream || s.manifest.Carousel) {
		return repairNone
	}
	type node struct {
		t    *target
		k, i int
		h    merkle.Hash
	}
	var plan []node
	waiting := false
	for _, t := range sb.targets {
		if t.finished() {
			continue
		}
		f := t.f
		if f.countMissing(t.blockFirst, t.blockEnd) == 0 { // every block it still counts is with a worker: wait for them, not the sender
			waiting = true
			continue
		}
		lo, hi := f.leaflessSpan(t.blockFirst, t.blockEnd)
		if lo >= 0 {
			if f.leafWalks == 0 {
				s.fetchLeaves(f, lo, hi)
			}
			waiting = true
			continue
		}
		nodes, hashes, ok := s.repairCover(t, t.k, t.i, nil, nil, maxRepair-len(plan))
		if !ok {
			return repairNone
		}
		for j, n := range nodes {
			plan = append(plan, node{t, n.k, n.i, hashes[j]})
		}
	}
	if waiting {
		return repairWaiting
	}
	if len(plan) == 0 {
		return repairNone
	}
	// A node whose channel is the one that just ended (a one-block repair that lost a piece
	// again) is replaced by an ancestor: a different group, which the sender serves at once,
	// where joining the same group again would have to wait out its repeat window. Not so
	// for a channel still sending that stalled: its cycle may be passing over blocks already
	// in (a repair covers a node whole when half its blocks are missing), and the ancestor's
	// cycle, from its start, would pass over more of them and stall in turn; the two would
	// swap forever. Joined again, the channel goes on from where it is.
	planned := map[netip.Addr]bool{}
	for i, n := range plan {
		for mcast.DataGroup(s.cfg.Scope, n.h) == sb.group {
			if running {
				return repairNone
			}
			f := n.t.f
			if n.k >= f.shape.TopLevel() {
				return repairNone
			}
			n.k, n.i = n.k+1, n.i/2
			h, ok := s.nodeHash(n.t, n.k, n.i)
			if !ok {
				return repairNone
			}
			n.h = h
		}
		plan[i] = n
	}
	// Nodes with the same content share a group (a sparse file: every zero block is one
	// leaf hash): each still gets a target of its own on the one subscription, so the one
	// cycle the join brings fills them all. Keeping only the first would strand the others
	// with no channel to come from.
	for _, n := range plan {
		g := mcast.DataGroup(s.cfg.Scope, n.h)
		planned[g] = true
		s.enqueue(g, subData, n.t.f.dataTarget(n.k, n.i, n.h))
	}
	s.stats.Repairs += len(plan)
	s.cfg.Logger.Debug("repairing a channel", "group", sb.group, "channels", len(planned), "elapsed", time.Since(s.clock.started))
	return repairDone
}

// repairCover covers the missing blocks under node (k, i) of t's file with nodes whose hashes
// are known (see nodeHash), appending them and their hashes to nodes and hashes; it reports
// false beyond limit nodes. A node the cover rule takes but whose hash is unknown is split:
// its span may hold blocks reused from the local copy at a level above the leaves, whose
// leaves were never learnt, and a hash folded from them would name a group nobody serves
// (review M9). The missing blocks' own leaves are verified (repair checks), so the split
// ends at the latest at the leaves (caller holds mu).
func (s *session) repairCover(t *target, k, i int, nodes []nodeRef, hashes []merkle.Hash, limit int) ([]nodeRef, []merkle.Hash, bool) {
	f := t.f
	cov, ok := cover(f.shape, k, i, f.countMissing, nil, nil, limit-len(nodes))
	if !ok {
		return nodes, hashes, false
	}
	for _, n := range cov {
		if h, known := s.nodeHash(t, n.k, n.i); known {
			if len(nodes) >= limit {
				return nodes, hashes, false
			}
			nodes, hashes = append(nodes, n), append(hashes, h)
			continue
		}
		if n.k == 0 {
			return nodes, hashes, false // a missing block without its leaf: repair fetches leaves first
		}
		for c := 2 * n.i; c <= 2*n.i+1 && f.shape.HasNode(n.k-1, c); c++ {
			if nodes, hashes, ok = s.repairCover(t, n.k-1, c, nodes, hashes, limit); !ok {
				return nodes, hashes, false
			}
		}
	}
	return nodes, hashes, true
}

// nodeHash returns the verified hash of node (k, i) of t's file: t's own node, one the walk
// found different or a verified page lists, or one folded from leaves that are all verified
// (caller holds mu).
func (s *session) nodeHash(t *target, k, i int) (merkle.Hash, bool) {
	f := t.f
	if k == t.k && i == t.i {
		return t.hash, true
	}
	if k == f.shape.TopLevel() && i == 0 {
		return merkle.Hash(f.entry.Top), true
	}
	a, b := f.shape.Span(k, i)
	if allSet(f.leafOK, a, b) {
		return f.leaves.fold(a, b), true
	}
	return s.walkedHash(f, nodeRef{k, i})
}

// allSet reports whether bits [a, b) of bs are all set.
func allSet(bs *bitset.BitSet, a, b int) bool {
	return bs.OnesBetween(uint(a), uint(b)) == uint(b-a)
}

// leafGrace is how long blocks may come on a data channel whose leaf hashes did not all
// arrive before the missing ones are sought by a leaf walk. The sender sends them again,
// out of turn, to a host that joins mid-part (PROTOCOL.md §5.3); the grace covers the
// join's report reaching it and the replay coming back.
const leafGrace = 100 * time.Millisecond

// seekLostLeaves starts a leaf walk for the leaves a data channel's run lacks once its blocks
// have been coming for leafGrace: the channel sends its hashes before its blocks, so those
// lost will not come again this cycle, and without them no block under the run verifies (one
// lost hash packet of a file's run would hold the whole file unverified until the channel
// stalls). The walk descends only where hashes are missing; the rest of the run is verified
// against the pages it crosses (caller holds mu).
func (s *session) seekLostLeaves(sb *sub, now time.Time) {
	if sb.kind != subData && sb.kind != subStream {
		return
	}
	for _, t := range sb.targets {
		if t.leavesSought || t.verified || !t.collects() || t.level != 0 || t.firstBlock.IsZero() ||
			now.Sub(t.firstBlock) < leafGrace || t.finished() {
			continue
		}
		t.leavesSought = true
		f := t.f
		if f.leafWalks > 0 {
			continue // a walk is under way: repair takes over if it does not cover these
		}
		if lo, hi := f.leaflessSpan(t.blockFirst, t.blockEnd); lo >= 0 {
			s.fetchLeaves(f, lo, hi)
		}
	}
}

// fetchLeaves learns the leaf hashes of blocks [lo, hi) of f by walking tree pages from the top
// down to them: each page is verified against its parent, so the leaves chain up to the
// manifest (caller holds mu).
func (s *session) fetchLeaves(f *fileState, lo, hi int) {
	s.cfg.Logger.Debug("fetching leaf hashes", "file", f.rel, "from", lo, "to", hi, "elapsed", time.Since(s.clock.started))
	s.leafWalk(f, f.shape.TopLevel(), 0, merkle.Hash(f.entry.Top), lo, hi)
}

// leafWalk queues the tree page of node (k, i), whose hash h is verified, as a step towards
// leaves [lo, hi).
func (s *session) leafWalk(f *fileState, k, i int, h merkle.Hash, lo, hi int) {
	level := max(0, k-s.pageHeight())
	first, end := f.shape.Descendants(k, i, level)
	t := &target{f: f, k: k, i: i, hash: h, label: wire.LabelOf(h), level: level, first: first, end: end,
		run: make([]merkle.Hash, end-first), have: bitset.New(uint(end - first)), want: [2]int{lo, hi}}
	if run, ok := f.pages[nodeRef{k, i}]; ok && len(run) == len(t.run) {
		copy(t.run, run) // verified before: enqueue completes the target without a join
		t.have.FlipRange(0, uint(len(run)))
	}
	f.leafWalks++
	s.enqueue(mcast.TreeGroup(s.cfg.Scope, uint8(k), h), subTree, t)
}

// expandLeaves continues a leaf walk from a verified page: it records the leaves it reached and
// walks further down towards the others (caller holds mu).
func (s *session) expandLeaves(t *target) {
	f, lo, hi := t.f, t.want[0], t.want[1]
	f.leafWalks--
	for j, h := range t.run {
		idx := t.first + j
		a, b := f.shape.Span(t.level, idx)
		if b <= lo || a >= hi || !f.unknownMissing(max(a, lo), min(b, hi)) {
			continue
		}
		if t.level == 0 {
			s.leavesVerified(f, idx, idx+1, func(int) merkle.Hash { return h })
			continue
		}
		if s.checkLeafCandidates(f, a, b, h) {
			continue // the leaves under this node had all arrived: verified against it
		}
		s.leafWalk(f, t.level, idx, h, lo, hi)
	}
}

// checkLeafCandidates verifies the leaves [a, b) under a node whose hash h is verified, using
// the leaf hashes that arrived on data channels even though their whole run did not (one lost
// packet fails the run). It reports whether they are all verified now; if they did not fold to
// h they are discarded (caller holds mu).
func (s *session) checkLeafCandidates(f *fileState, a, b int, h merkle.Hash) bool {
	for x := a; x < b; x++ {
		if !f.leafOK.Test(uint(x)) && !f.leafHave.Test(uint(x)) {
			return false
		}
	}
	if f.leaves.fold(a, b) != h {
		f.forgetCandidates(a, b)
		s.stats.Corrupt++
		return false
	}
	s.leavesVerified(f, a, b, f.leaves.get)
	return true
}
