package receiver

import "github.com/lcsync/lcsync/merkle"

// nodeRef names a node of a file's tree: level k, index i.
type nodeRef struct{ k, i int }

// cover appends to dst the nodes whose data channels bring the needed blocks under node
// (k, i) of shape, and reports false if that would take more than limit nodes. need(first,
// end) counts the needed blocks of [first, end); whole(k, i), if not nil, says that a node is
// to be taken as it is (the walk did not look below it). The rule, the same for a file's
// first plan and for repairs: a leaf is taken; a node is taken whole when at least half of
// its blocks are needed and they are spread over both its children (one join instead of
// several, for a bounded waste); otherwise its children are covered, so sparse changes cost
// no unneeded block.
func cover(shape merkle.Shape, k, i int, need func(first, end int) int, whole func(k, i int) bool, dst []nodeRef, limit int) ([]nodeRef, bool) {
	first, end := shape.Span(k, i)
	n := need(first, end)
	if n == 0 {
		return dst, true
	}
	take := k == 0 || whole != nil && whole(k, i)
	if !take && 2*n >= end-first {
		halves := 0
		for c := 2 * i; c <= 2*i+1 && shape.HasNode(k-1, c); c++ {
			if a, b := shape.Span(k-1, c); need(a, b) > 0 {
				halves++
			}
		}
		take = halves > 1
	}
	if take {
		if len(dst) >= limit {
			return dst, false
		}
		return append(dst, nodeRef{k, i}), true
	}
	for c := 2 * i; c <= 2*i+1 && shape.HasNode(k-1, c); c++ {
		var ok bool
		if dst, ok = cover(shape, k-1, c, need, whole, dst, limit); !ok {
			return dst, false
		}
	}
	return dst, true
}
