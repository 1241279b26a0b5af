package receiver

import (
	"net/netip"
	"time"

	"github.com/lcsync/lcsync/merkle"
)

// The verifier's side of the leaves: hash runs that complete and fold to their node, leaves
// that chain up to the manifest, blocks held until their leaf is known. Everything here runs
// under mu, from the reader (hash packets), the workers (blocks) and the controller (repairs).

// runComplete checks a completed run against the target's node.
func (s *session) runComplete(t *target, now time.Time) {
	if t.foldRun() != t.hash {
		s.stats.Corrupt++
		t.have.ClearAll()
		if !t.leafRun && t.runSrc.IsValid() {
			t.f.sources.verdict(t.runSrc, false, now)
			t.runSrc = netip.Addr{} // the next packet's source assembles it
		}
		if t.leafRun {
			t.f.forgetCandidates(t.first, t.end)
		}
		s.markKnown(t) // keep what was already verified
		return
	}
	t.verified = true
	t.alts = nil
	if !t.leafRun {
		t.f.sources.verdict(t.runSrc, true, now)
	}
	if t.sub.kind == subTree {
		if t.f.pages == nil {
			t.f.pages = map[nodeRef][]merkle.Hash{}
		}
		t.f.pages[nodeRef{t.k, t.i}] = t.run
	}
	s.clock.advance(t.sub, now)
	if t.level == 0 {
		s.leavesVerified(t.f, t.first, t.end, t.runAt)
	}
	switch {
	case t.walk:
		s.expand(t)
	case t.want[1] > t.want[0]:
		s.expandLeaves(t)
	}
	s.targetDone(t)
}

// markKnown pre-fills a leaf run with the leaves already verified, so they need not arrive.
func (s *session) markKnown(t *target) {
	if t.level != 0 || !t.collects() {
		return
	}
	for j := t.first; j < t.end; j++ {
		if t.f.leafOK.Test(uint(j)) {
			if !t.leafRun { // a leaf run's hashes are the leaf table's
				t.run[j-t.first] = t.f.leaves.get(j)
			}
			t.have.Set(uint(j - t.first))
		}
	}
}

// heldUnverified keeps block b, written before its leaf was verified, with its hash h as the
// leaf's candidate: a block is its own leaf hash, so one whose hash packet was lost fills the
// gap in its channel's run, and once the leaf is verified the block is done without being
// read back and hashed again. A block whose hash disagrees with the candidate a hash packet
// brought is dropped (one of them is forged or damaged); it comes again (caller holds mu).
func (s *session) heldUnverified(f *fileState, b int, h merkle.Hash) {
	if f.leafHave.Test(uint(b)) && f.leaves.get(b) != h {
		s.stats.Corrupt++
		s.stats.WastedBytes += int64(f.shape.BlockLen(b))
		return
	}
	f.unverified.Set(uint(b))
	f.selfHashed.Set(uint(b))
	if f.leafHave.Test(uint(b)) {
		return
	}
	f.leaves.set(b, h)
	f.leafHave.Set(uint(b))
	now := time.Now()
	for _, t := range f.targets {
		if !t.leafRun || t.verified || b < t.first || b >= t.end {
			continue
		}
		t.have.Set(uint(b - t.first)) // its run is f.leaves
		if t.have.Count() == uint(t.end-t.first) {
			s.runComplete(t, now)
		}
	}
}

// blockDone records a verified, written block (caller holds mu).
func (s *session) blockDone(f *fileState, b int) {
	if f.done.Test(uint(b)) || !f.need.Test(uint(b)) {
		return
	}
	f.done.Set(uint(b))
	f.remaining--
	s.stats.Needed++
	s.stats.NeededBytes += int64(f.shape.BlockLen(b))
	now := time.Now()
	s.clock.lastUseful = now
	for _, t := range f.targets {
		if b >= t.blockFirst && b < t.blockEnd {
			t.remaining--
			t.sub.lastUseful = now
		}
	}
	s.maybeReady(f)
	s.poke()
}

// leavesVerified installs leaves [first, end), leaf b being at(b), that chain up to a
// trusted node, reconciles them with the local copy when no walk did so (carousel, fresh
// data channels), and queues the blocks that were written before their leaf was known for
// verification (caller holds mu).
func (s *session) leavesVerified(f *fileState, first, end int, at func(b int) merkle.Hash) {
	for b := first; b < end; b++ {
		if f.leafOK.Test(uint(b)) {
			continue
		}
		h := at(b)
		self := f.selfHashed.Test(uint(b)) && f.leaves.get(b) == h // the block written hashes to h
		f.selfHashed.Clear(uint(b))
		f.leaves.set(b, h)
		f.leafOK.Set(uint(b))
		if !f.walked && f.need.Test(uint(b)) && !f.done.Test(uint(b)) && !f.queued.Test(uint(b)) && f.localEqual(0, b, h) {
			s.reuseLate(f, b)
			continue
		}
		if f.unverified.Test(uint(b)) {
			f.unverified.Clear(uint(b))
			if self {
				s.blockDone(f, b)
				continue
			}
			f.queued.Set(uint(b)) // read back and verified by a worker
			s.backlog.push(writeJob{f: f, b: b})
		}
	}
}

// reuseLate turns a needed block into a reused one once its leaf shows the local copy has it.
func (s *session) reuseLate(f *fileState, b int) {
	f.need.Clear(uint(b))
	f.unverified.Clear(uint(b))
	f.reuse.Set(uint(b))
	f.remaining--
	if bs := f.blocks[b]; bs != nil {
		s.dropAlts(bs)
		s.mem.release(bs)
		if bs.buf != nil {
			s.mem.put(bs.buf)
		}
		delete(f.blocks, b)
	}
	for _, t := range f.targets {
		if b >= t.blockFirst && b < t.blockEnd {
			t.remaining--
		}
	}
	s.maybeReady(f)
	s.poke()
}
