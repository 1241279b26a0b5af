package receiver

import (
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// maxRepair bounds the channels one repair may open; beyond it the whole channel is joined
// again instead, which is cheaper than thousands of joins.
const maxRepair = 1024

// repair replaces a data subscription whose cycle ended with blocks still missing by narrower
// data channels that cover just the missing blocks, so a few lost datagrams cost a few
// blocks, not another cycle. It needs every leaf under each target verified (to compute the
// hashes of the nodes it joins); otherwise, or if too many channels would be needed, it
// returns false and the caller joins the same channel again (caller holds mu).
func (s *session) repair(sb *sub) bool {
	if sb.kind != subData && (sb.kind != subStream || s.manifest.Carousel) {
		return false
	}
	type node struct {
		t    *target
		k, i int
		h    merkle.Hash
	}
	var plan []node
	for _, t := range sb.targets {
		if s.targetFinished(t) {
			continue
		}
		f := t.f
		if t.run != nil && !t.verified {
			return false
		}
		for b := t.blockFirst; b < t.blockEnd; b++ {
			if !f.leafOK.Test(uint(b)) {
				return false
			}
		}
		var visit func(k, i int) bool
		visit = func(k, i int) bool {
			first, end := f.shape.Span(k, i)
			need, halves := 0, 0
			for b := first; b < end; b++ {
				if f.missing(b) {
					need++
				}
			}
			if need == 0 {
				return true
			}
			if k > 0 {
				for c := 2 * i; c <= 2*i+1 && f.shape.HasNode(k-1, c); c++ {
					c0, c1 := f.shape.Span(k-1, c)
					for b := c0; b < c1; b++ {
						if f.missing(b) {
							halves++
							break
						}
					}
				}
			}
			if k == 0 || 2*need >= end-first && halves > 1 {
				if len(plan) >= maxRepair {
					return false
				}
				plan = append(plan, node{t, k, i, merkle.Fold(f.leaves[first:end])})
				return true
			}
			for c := 2 * i; c <= 2*i+1 && f.shape.HasNode(k-1, c); c++ {
				if !visit(k-1, c) {
					return false
				}
			}
			return true
		}
		if !visit(t.k, t.i) {
			return false
		}
	}
	if len(plan) == 0 {
		return false
	}
	for _, n := range plan {
		if mcast.DataGroup(s.cfg.Scope, n.h) == sb.group {
			return false // nothing narrower: join the same channel again
		}
	}
	for _, n := range plan {
		s.enqueue(mcast.DataGroup(s.cfg.Scope, n.h), subData, s.dataTarget(n.t.f, n.k, n.i, n.h))
	}
	s.stats.Repairs += len(plan)
	return true
}

// missing reports whether block b is needed and neither done nor on its way to a worker.
func (f *fileState) missing(b int) bool {
	return f.need.Test(uint(b)) && !f.done.Test(uint(b)) && !f.queued.Test(uint(b))
}
