package receiver

// span is a half-open byte range [lo, hi).
type span struct{ lo, hi int }

// coverage is the set of byte ranges of a block received so far: sorted, disjoint and
// non-adjacent.
type coverage struct{ spans []span }

// gaps appends to dst the parts of [lo, hi) not yet covered.
func (c *coverage) gaps(dst []span, lo, hi int) []span {
	for _, s := range c.spans {
		if s.hi <= lo {
			continue
		}
		if s.lo >= hi {
			break
		}
		if s.lo > lo {
			dst = append(dst, span{lo, s.lo})
		}
		lo = max(lo, s.hi)
		if lo >= hi {
			return dst
		}
	}
	if lo < hi {
		dst = append(dst, span{lo, hi})
	}
	return dst
}

// add marks [lo, hi) covered.
func (c *coverage) add(lo, hi int) {
	i := 0
	for i < len(c.spans) && c.spans[i].hi < lo {
		i++
	}
	j := i
	for j < len(c.spans) && c.spans[j].lo <= hi {
		lo = min(lo, c.spans[j].lo)
		hi = max(hi, c.spans[j].hi)
		j++
	}
	if i == j {
		c.spans = append(c.spans, span{})
		copy(c.spans[i+1:], c.spans[i:])
		c.spans[i] = span{lo, hi}
		return
	}
	c.spans[i] = span{lo, hi}
	c.spans = append(c.spans[:i+1], c.spans[j:]...)
}

// full reports whether [0, n) is covered.
func (c *coverage) full(n int) bool {
	return len(c.spans) == 1 && c.spans[0].lo == 0 && c.spans[0].hi >= n
}

// covers reports whether [lo, hi) is covered.
func (c *coverage) covers(lo, hi int) bool {
	for _, s := range c.spans {
		if s.hi >= hi {
			return s.lo <= lo
		}
	}
	return lo >= hi
}

// size returns the number of bytes covered.
func (c *coverage) size() int {
	n := 0
	for _, s := range c.spans {
		n += s.hi - s.lo
	}
	return n
}
