package simd

import (
	"encoding/binary"
	"math/bits"
)

// The generic kernels are branchless pure Go, SWAR (eight byte lanes in a
// uint64) where that pays. They are the whole implementation under the purego
// tag and on architectures without assembly, and they finish the tails that
// the assembly kernels leave. They are always compiled.

const (
	lo7 = 0x7f7f7f7f7f7f7f7f // the low seven bits of every byte lane
)

// liveMask returns 0xffffffff if t > now and 0 otherwise, without a branch:
// now - t is negative exactly when t > now.
func liveMask(t, now uint32) uint32 {
	return uint32((int64(now) - int64(t)) >> 63)
}

// sweepGeneric is Sweep in SWAR form: eight timers produce a byte mask that
// clears eight counters with one 64-bit AND.
func sweepGeneric(counters []uint8, timers []uint32, now uint32) int {
	live := 0
	i := 0
	for ; i+8 <= len(timers) && i+8 <= len(counters); i += 8 {
		t := timers[i : i+8 : i+8]
		m0, m1, m2, m3 := liveMask(t[0], now), liveMask(t[1], now), liveMask(t[2], now), liveMask(t[3], now)
		m4, m5, m6, m7 := liveMask(t[4], now), liveMask(t[5], now), liveMask(t[6], now), liveMask(t[7], now)
		t[0] &= m0
		t[1] &= m1
		t[2] &= m2
		t[3] &= m3
		t[4] &= m4
		t[5] &= m5
		t[6] &= m6
		t[7] &= m7
		mask := uint64(m0&0xff) | uint64(m1&0xff00) | uint64(m2&0xff0000) | uint64(m3&0xff000000) |
			uint64(m4&0xff)<<32 | uint64(m5&0xff00)<<32 | uint64(m6&0xff0000)<<32 | uint64(m7&0xff000000)<<32
		live += bits.OnesCount64(mask) >> 3
		c := counters[i : i+8 : i+8]
		binary.LittleEndian.PutUint64(c, binary.LittleEndian.Uint64(c)&mask)
	}
	return live + sweepTail(counters[i:], timers[i:], now)
}

// sweepTail is the branchless one-slot-at-a-time Sweep used for short tails.
func sweepTail(counters []uint8, timers []uint32, now uint32) int {
	live := 0
	for i := range timers {
		m := liveMask(timers[i], now)
		timers[i] &= m
		counters[i] &= uint8(m)
		live += int(m & 1)
	}
	return live
}

// rebaseGeneric is the branchless Rebase (min compiles to CMOV), unrolled
// four times.
func rebaseGeneric(timers []uint32, base uint32) {
	i := 0
	for ; i+4 <= len(timers); i += 4 {
		t := timers[i : i+4 : i+4]
		t0, t1, t2, t3 := t[0], t[1], t[2], t[3]
		t[0] = t0 - min(t0, base)
		t[1] = t1 - min(t1, base)
		t[2] = t2 - min(t2, base)
		t[3] = t3 - min(t3, base)
	}
	for ; i < len(timers); i++ {
		timers[i] -= min(timers[i], base)
	}
}

// countNonZeroGeneric is CountNonZero in SWAR form. For each byte lane of x,
// (x&lo7)+lo7 carries into the lane's top bit iff its low seven bits are not
// all zero; OR-ing x adds the lane's own top bit.
func countNonZeroGeneric(counters []uint8) int {
	n := 0
	i := 0
	for ; i+32 <= len(counters); i += 32 {
		c := counters[i : i+32 : i+32]
		n += nonZeroLanes(binary.LittleEndian.Uint64(c[0:8])) +
			nonZeroLanes(binary.LittleEndian.Uint64(c[8:16])) +
			nonZeroLanes(binary.LittleEndian.Uint64(c[16:24])) +
			nonZeroLanes(binary.LittleEndian.Uint64(c[24:32]))
	}
	for ; i+8 <= len(counters); i += 8 {
		n += nonZeroLanes(binary.LittleEndian.Uint64(counters[i : i+8]))
	}
	for _, c := range counters[i:] {
		n += int((c | -c) >> 7)
	}
	return n
}

// nonZeroLanes counts the non-zero bytes of x.
func nonZeroLanes(x uint64) int {
	return bits.OnesCount64((((x & lo7) + lo7) | x) &^ lo7)
}
