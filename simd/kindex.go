package simd

// The k-index operations touch a handful (k ~ 7) of random positions. They are
// bound by memory latency, not arithmetic, so they are plain Go on every
// architecture; doc.go records the measurements behind that choice. Every
// index must be in range for the slice: an out-of-range index panics like any
// slice index, since indices are computed by the caller, never read from input.

// IncAt increments c[i] for every i in idx, saturating at 255. A repeated
// index is incremented once per occurrence.
func IncAt(c []uint8, idx []uint32) {
	for _, i := range idx {
		if v := c[i]; v != 255 {
			c[i] = v + 1
		}
	}
}

// DecAt decrements c[i] for every i in idx, saturating at 0 and leaving 255
// untouched: a saturated counter's true count is unknown, so only timer expiry
// may clear it. A repeated index is decremented once per occurrence.
func DecAt(c []uint8, idx []uint32) {
	for _, i := range idx {
		if v := c[i]; v-1 < 254 { // v in [1, 254]
			c[i] = v - 1
		}
	}
}

// MinAt returns the minimum of c[i] over i in idx, or 255 when idx is empty.
func MinAt(c []uint8, idx []uint32) uint8 {
	m := uint8(255)
	for _, i := range idx {
		m = min(m, c[i])
	}
	return m
}

// RaiseAt sets t[i] = max(t[i], v) for every i in idx.
func RaiseAt(t []uint32, idx []uint32, v uint32) {
	for _, i := range idx {
		if t[i] < v {
			t[i] = v
		}
	}
}

// MinAt32 returns the minimum of t[i] over i in idx, or 0xffffffff when idx is
// empty.
func MinAt32(t []uint32, idx []uint32) uint32 {
	m := uint32(0xffffffff)
	for _, i := range idx {
		m = min(m, t[i])
	}
	return m
}
