//go:build purego || !amd64

package simd

func sweep(counters []uint8, timers []uint32, now uint32) int {
	return sweepGeneric(counters, timers, now)
}

func rebase(timers []uint32, base uint32) { rebaseGeneric(timers, base) }

func countNonZero(counters []uint8) int { return countNonZeroGeneric(counters) }

func impl() string { return "generic" }
