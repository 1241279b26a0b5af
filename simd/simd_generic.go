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
		var mask uint64
		for j := range t {
			m := liveMask(t[j], now)
			t[j] &= m
			mask |= uint64(m&0xff) << (8 * j)
		}
		live += bits.OnesCount64(mask) / 8
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

// rebaseGeneric is the branchless Rebase.
func rebaseGeneric(timers []uint32, base uint32) {
	for i, t := range timers {
		d := int64(t) - int64(base)
		timers[i] = uint32(d) &^ uint32(d>>63)
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
